//! AWS Lambda: functions that really run.
//!
//! [`functions`] is the control plane (functions, their code and configuration, in the
//! store); [`invoke`] runs them through [`runtime`], where each execution environment is
//! a process speaking the Lambda Runtime API to nubo (nubo's own small bootstraps for
//! Python and Node, or a custom runtime's `bootstrap`); [`zip`] reads deployment
//! packages; [`mappings`] are event source mappings that feed functions from SQS queues and DynamoDB streams;
//! [`permissions`] holds resource policies and tags. Function output goes to CloudWatch Logs through the [`LogSink`] the
//! composition root wires.

mod activity;
mod concurrency;
mod error;
mod event_invoke;
mod functions;
mod invoke;
mod layers;
pub mod mappings;
mod permissions;
mod provisioned;
mod runtime;
mod url_requests;
mod urls;
mod versions;
mod zip;

pub use activity::Counts as InvocationCounts;
pub use event_invoke::{Destinations, Sending};
pub use invoke::LogSink;
pub use mappings::{QueueMessage, QueueSource, StreamSource};
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::lambda::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct Lambda {
    store: Store,
    clock: Clock,
    runtime: Arc<runtime::Runtime>,
    /// How functions reach nubo (`AWS_ENDPOINT_URL` inside them).
    endpoint: String,
    logs: Option<Arc<dyn LogSink>>,
    queues: Option<Arc<dyn QueueSource>>,
    streams: Option<Arc<dyn StreamSource>>,
    roles: Option<Arc<dyn RoleCredentials>>,
    code_source: Option<Arc<dyn CodeSource>>,
    destinations: Option<Arc<dyn Destinations>>,
    /// Invocations in flight and counted (throttling, AWS/Lambda metrics).
    activity: Arc<activity::Activity>,
    /// Where function URLs' own addresses are listened on.
    url_listeners: Option<Arc<dyn UrlListeners>>,
}

pub type Fetching = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<Vec<u8>, nubo_core::AwsError>> + Send>>;

/// Where `Code.S3Bucket`/`S3Key` are read from: S3, wired by the composition root.
pub trait CodeSource: Send + Sync {
    fn fetch(&self, bucket: &str, key: &str, version: Option<&str>) -> Fetching;
}

/// What a function's environment gets as its execution role's credentials: STS, wired
/// by the composition root.
pub trait RoleCredentials: Send + Sync {
    /// (access key id, secret, session token), or `None` to run with the neutral
    /// `test`/`test` keys (where IAM is not enforced and the role does not exist).
    fn credentials(&self, role_arn: &str, session: &str) -> Option<(String, String, String)>;
}

/// Where function URLs' own loopback addresses are listened on: the composition root,
/// which has the gateway.
pub trait UrlListeners: Send + Sync {
    /// Listens on exactly these addresses (each URL's, with its host name), from now on.
    fn sync(&self, wanted: Vec<(std::net::Ipv4Addr, String)>);
}

impl Lambda {
    pub fn new(store: Store, clock: Clock, endpoint: String) -> Lambda {
        let scratch = std::env::temp_dir().join(format!("nubo-lambda-{}-{}", std::process::id(), nubo_core::ids::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 8)));
        let runtime = runtime::Runtime::new(scratch, clock.clone());
        Lambda { store, clock, runtime, endpoint, logs: None, queues: None, streams: None, roles: None, code_source: None, destinations: None, activity: Default::default(), url_listeners: None }
    }

    pub fn with_roles(mut self, roles: Arc<dyn RoleCredentials>) -> Lambda {
        self.roles = Some(roles);
        self
    }

    pub fn with_code_source(mut self, source: Arc<dyn CodeSource>) -> Lambda {
        self.code_source = Some(source);
        self
    }

    pub fn with_destinations(mut self, destinations: Arc<dyn Destinations>) -> Lambda {
        self.destinations = Some(destinations);
        self
    }

    pub fn with_url_listeners(mut self, listeners: Arc<dyn UrlListeners>) -> Lambda {
        self.url_listeners = Some(listeners);
        self
    }

    pub fn with_logs(mut self, logs: Arc<dyn LogSink>) -> Lambda {
        self.logs = Some(logs);
        self
    }

    pub fn with_queues(mut self, queues: Arc<dyn QueueSource>) -> Lambda {
        self.queues = Some(queues);
        self
    }

    pub fn with_streams(mut self, streams: Arc<dyn StreamSource>) -> Lambda {
        self.streams = Some(streams);
        self
    }
}

impl Lambda {
    /// Stops idle environments each minute of nubo's clock (inside tokio).
    pub fn start_reaper(&self) {
        let (runtime, clock) = (self.runtime.clone(), self.clock.clone());
        tokio::spawn(async move {
            loop {
                clock.sleep_until(clock.now().add_millis(60_000)).await;
                let n = runtime.reap(runtime::IDLE_LIMIT_MS);
                if n > 0 {
                    tracing::debug!("stopped {n} idle Lambda environments");
                }
            }
        });
    }

    /// Each function's invocations since the last call (AWS/Lambda metrics).
    pub fn take_invocation_counts(&self) -> Vec<(nubo_core::Scope, String, InvocationCounts)> {
        self.activity.take()
    }
}

pub fn service(lambda: Lambda) -> Box<dyn Handler> {
    Box::new(lambda::Service(lambda))
}

/// Every operation delegates to its module; this block is the whole API surface.
impl lambda::Lambda for Lambda {
    fn http<'a>(&'a self, req: &'a nubo_model::handler::HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        self.code_download(req).or_else(|| self.url_request(req))
    }
    fn http_auth(&self, req: &nubo_model::handler::HttpRequest<'_>) -> Option<nubo_model::handler::HttpAuth> {
        self.url_auth(req)
    }
    fn resource_policy(&self, _: &RequestContext, arn: &str) -> Option<String> {
        self.policy_of(arn)
    }
    async fn create_function_url_config(&self, ctx: &RequestContext, input: CreateFunctionUrlConfigRequest) -> Result<CreateFunctionUrlConfigResponse, AwsError> {
        Ok(self.create_url(ctx, input)?)
    }
    async fn get_function_url_config(&self, ctx: &RequestContext, input: GetFunctionUrlConfigRequest) -> Result<GetFunctionUrlConfigResponse, AwsError> {
        Ok(self.get_url(ctx, input)?)
    }
    async fn update_function_url_config(&self, ctx: &RequestContext, input: UpdateFunctionUrlConfigRequest) -> Result<UpdateFunctionUrlConfigResponse, AwsError> {
        Ok(self.update_url(ctx, input)?)
    }
    async fn delete_function_url_config(&self, ctx: &RequestContext, input: DeleteFunctionUrlConfigRequest) -> Result<(), AwsError> {
        Ok(self.delete_url(ctx, input)?)
    }
    async fn list_function_url_configs(&self, ctx: &RequestContext, input: ListFunctionUrlConfigsRequest) -> Result<ListFunctionUrlConfigsResponse, AwsError> {
        Ok(self.list_urls(ctx, input)?)
    }
    async fn list_functions(&self, ctx: &RequestContext, input: ListFunctionsRequest) -> Result<ListFunctionsResponse, AwsError> {
        Ok(Lambda::list_functions(self, ctx, input).await?)
    }
    async fn create_function(&self, ctx: &RequestContext, input: CreateFunctionRequest) -> Result<FunctionConfiguration, AwsError> {
        Ok(Lambda::create_function(self, ctx, input).await?)
    }
    async fn get_function(&self, ctx: &RequestContext, input: GetFunctionRequest) -> Result<GetFunctionResponse, AwsError> {
        Ok(Lambda::get_function(self, ctx, input).await?)
    }
    async fn get_function_configuration(&self, ctx: &RequestContext, input: GetFunctionConfigurationRequest) -> Result<FunctionConfiguration, AwsError> {
        Ok(Lambda::get_function_configuration(self, ctx, input).await?)
    }
    async fn delete_function(&self, ctx: &RequestContext, input: DeleteFunctionRequest) -> Result<DeleteFunctionResponse, AwsError> {
        Lambda::delete_function(self, ctx, input).await?;
        Ok(DeleteFunctionResponse::default())
    }
    async fn update_function_code(&self, ctx: &RequestContext, input: UpdateFunctionCodeRequest) -> Result<FunctionConfiguration, AwsError> {
        Ok(Lambda::update_function_code(self, ctx, input).await?)
    }
    async fn update_function_configuration(&self, ctx: &RequestContext, input: UpdateFunctionConfigurationRequest) -> Result<FunctionConfiguration, AwsError> {
        Ok(Lambda::update_function_configuration(self, ctx, input).await?)
    }
    async fn invoke(&self, ctx: &RequestContext, input: InvocationRequest) -> Result<InvocationResponse, AwsError> {
        Ok(Lambda::invoke(self, ctx, input).await?)
    }
    async fn create_event_source_mapping(&self, ctx: &RequestContext, input: CreateEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration, AwsError> {
        Ok(Lambda::create_event_source_mapping(self, ctx, input).await?)
    }
    async fn get_event_source_mapping(&self, ctx: &RequestContext, input: GetEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration, AwsError> {
        Ok(Lambda::get_event_source_mapping(self, ctx, input).await?)
    }
    async fn list_event_source_mappings(&self, ctx: &RequestContext, input: ListEventSourceMappingsRequest) -> Result<ListEventSourceMappingsResponse, AwsError> {
        Ok(Lambda::list_event_source_mappings(self, ctx, input).await?)
    }
    async fn update_event_source_mapping(&self, ctx: &RequestContext, input: UpdateEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration, AwsError> {
        Ok(Lambda::update_event_source_mapping(self, ctx, input).await?)
    }
    async fn delete_event_source_mapping(&self, ctx: &RequestContext, input: DeleteEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration, AwsError> {
        Ok(Lambda::delete_event_source_mapping(self, ctx, input).await?)
    }
    async fn add_permission(&self, ctx: &RequestContext, input: AddPermissionRequest) -> Result<AddPermissionResponse, AwsError> {
        Ok(Lambda::add_permission(self, ctx, input).await?)
    }
    async fn remove_permission(&self, ctx: &RequestContext, input: RemovePermissionRequest) -> Result<(), AwsError> {
        Ok(Lambda::remove_permission(self, ctx, input).await?)
    }
    async fn get_policy(&self, ctx: &RequestContext, input: GetPolicyRequest) -> Result<GetPolicyResponse, AwsError> {
        Ok(Lambda::get_policy(self, ctx, input).await?)
    }
    async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), AwsError> {
        Ok(Lambda::tag_resource(self, ctx, input).await?)
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> Result<(), AwsError> {
        Ok(Lambda::untag_resource(self, ctx, input).await?)
    }
    async fn list_tags(&self, ctx: &RequestContext, input: ListTagsRequest) -> Result<ListTagsResponse, AwsError> {
        Ok(Lambda::list_tags(self, ctx, input).await?)
    }
    async fn get_account_settings(&self, ctx: &RequestContext, _: GetAccountSettingsRequest) -> Result<GetAccountSettingsResponse, AwsError> {
        Ok(Lambda::get_account_settings(self, ctx).await?)
    }
    async fn publish_version(&self, ctx: &RequestContext, input: PublishVersionRequest) -> Result<FunctionConfiguration, AwsError> {
        Ok(Lambda::publish_version(self, ctx, input).await?)
    }
    async fn list_versions_by_function(&self, ctx: &RequestContext, input: ListVersionsByFunctionRequest) -> Result<ListVersionsByFunctionResponse, AwsError> {
        Ok(Lambda::list_versions_by_function(self, ctx, input).await?)
    }
    async fn create_alias(&self, ctx: &RequestContext, input: CreateAliasRequest) -> Result<AliasConfiguration, AwsError> {
        Ok(Lambda::create_alias(self, ctx, input).await?)
    }
    async fn get_alias(&self, ctx: &RequestContext, input: GetAliasRequest) -> Result<AliasConfiguration, AwsError> {
        Ok(Lambda::get_alias(self, ctx, input).await?)
    }
    async fn list_aliases(&self, ctx: &RequestContext, input: ListAliasesRequest) -> Result<ListAliasesResponse, AwsError> {
        Ok(Lambda::list_aliases(self, ctx, input).await?)
    }
    async fn update_alias(&self, ctx: &RequestContext, input: UpdateAliasRequest) -> Result<AliasConfiguration, AwsError> {
        Ok(Lambda::update_alias(self, ctx, input).await?)
    }
    async fn delete_alias(&self, ctx: &RequestContext, input: DeleteAliasRequest) -> Result<(), AwsError> {
        Ok(Lambda::delete_alias(self, ctx, input).await?)
    }
    async fn put_function_concurrency(&self, ctx: &RequestContext, input: PutFunctionConcurrencyRequest) -> Result<Concurrency, AwsError> {
        Ok(Lambda::put_function_concurrency(self, ctx, input).await?)
    }
    async fn get_function_concurrency(&self, ctx: &RequestContext, input: GetFunctionConcurrencyRequest) -> Result<GetFunctionConcurrencyResponse, AwsError> {
        Ok(Lambda::get_function_concurrency(self, ctx, input).await?)
    }
    async fn put_function_event_invoke_config(&self, ctx: &RequestContext, input: PutFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig, AwsError> {
        Ok(Lambda::put_function_event_invoke_config(self, ctx, input).await?)
    }
    async fn get_function_event_invoke_config(&self, ctx: &RequestContext, input: GetFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig, AwsError> {
        Ok(Lambda::get_function_event_invoke_config(self, ctx, input).await?)
    }
    async fn update_function_event_invoke_config(&self, ctx: &RequestContext, input: UpdateFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig, AwsError> {
        Ok(Lambda::update_function_event_invoke_config(self, ctx, input).await?)
    }
    async fn delete_function_event_invoke_config(&self, ctx: &RequestContext, input: DeleteFunctionEventInvokeConfigRequest) -> Result<(), AwsError> {
        Ok(Lambda::delete_function_event_invoke_config(self, ctx, input).await?)
    }
    async fn list_function_event_invoke_configs(&self, ctx: &RequestContext, input: ListFunctionEventInvokeConfigsRequest) -> Result<ListFunctionEventInvokeConfigsResponse, AwsError> {
        Ok(Lambda::list_function_event_invoke_configs(self, ctx, input).await?)
    }
    async fn publish_layer_version(&self, ctx: &RequestContext, input: PublishLayerVersionRequest) -> Result<PublishLayerVersionResponse, AwsError> {
        Ok(Lambda::publish_layer_version(self, ctx, input).await?)
    }
    async fn get_layer_version(&self, ctx: &RequestContext, input: GetLayerVersionRequest) -> Result<GetLayerVersionResponse, AwsError> {
        Ok(Lambda::get_layer_version(self, ctx, input).await?)
    }
    async fn get_layer_version_by_arn(&self, ctx: &RequestContext, input: GetLayerVersionByArnRequest) -> Result<GetLayerVersionResponse, AwsError> {
        Ok(Lambda::get_layer_version_by_arn(self, ctx, input).await?)
    }
    async fn list_layers(&self, ctx: &RequestContext, input: ListLayersRequest) -> Result<ListLayersResponse, AwsError> {
        Ok(Lambda::list_layers(self, ctx, input).await?)
    }
    async fn list_layer_versions(&self, ctx: &RequestContext, input: ListLayerVersionsRequest) -> Result<ListLayerVersionsResponse, AwsError> {
        Ok(Lambda::list_layer_versions(self, ctx, input).await?)
    }
    async fn delete_layer_version(&self, ctx: &RequestContext, input: DeleteLayerVersionRequest) -> Result<(), AwsError> {
        Ok(Lambda::delete_layer_version(self, ctx, input).await?)
    }
    async fn delete_function_concurrency(&self, ctx: &RequestContext, input: DeleteFunctionConcurrencyRequest) -> Result<(), AwsError> {
        Ok(Lambda::delete_function_concurrency(self, ctx, input).await?)
    }
    async fn put_provisioned_concurrency_config(&self, ctx: &RequestContext, input: PutProvisionedConcurrencyConfigRequest) -> Result<PutProvisionedConcurrencyConfigResponse, AwsError> {
        Ok(Lambda::put_provisioned_concurrency_config(self, ctx, input).await?)
    }
    async fn get_provisioned_concurrency_config(&self, ctx: &RequestContext, input: GetProvisionedConcurrencyConfigRequest) -> Result<GetProvisionedConcurrencyConfigResponse, AwsError> {
        Ok(Lambda::get_provisioned_concurrency_config(self, ctx, input).await?)
    }
    async fn delete_provisioned_concurrency_config(&self, ctx: &RequestContext, input: DeleteProvisionedConcurrencyConfigRequest) -> Result<(), AwsError> {
        Ok(Lambda::delete_provisioned_concurrency_config(self, ctx, input).await?)
    }
    async fn list_provisioned_concurrency_configs(&self, ctx: &RequestContext, input: ListProvisionedConcurrencyConfigsRequest) -> Result<ListProvisionedConcurrencyConfigsResponse, AwsError> {
        Ok(Lambda::list_provisioned_concurrency_configs(self, ctx, input).await?)
    }
}
