//! Function URL configurations: an HTTP endpoint per function,
//! `http://<url-id>.lambda-url.<region>.localhost:<nubo's port>/` (AWS's
//! `https://<url-id>.lambda-url.<region>.on.aws/`, with `localhost`, which curl and
//! browsers resolve to nubo with no setup). Requests to them: [`crate::url_requests`].

use crate::error::{LambdaError, Result};
use crate::Lambda;
use nubo_core::{ids, RequestContext, Scope};
use nubo_model::generated::lambda::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const URLS: &str = "lambda.function-urls";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UrlRecord {
    pub id: String,
    pub function: String,
    pub function_arn: String,
    pub auth_type: String,
    pub invoke_mode: String,
    pub cors: Option<Value>,
    pub created: String,
    pub modified: String,
    /// The URL's own loopback address, where nubo serves it on port 80 (empty for URLs
    /// made before nubo gave them one).
    #[serde(default)]
    pub address: String,
}

pub(crate) fn url_key(scope: &Scope, function: &str) -> Vec<u8> {
    format!("{}\0{}\0{function}", scope.account, scope.region).into_bytes()
}

fn cors_in(c: Option<Cors>) -> Option<Value> {
    c.map(|c| {
        json!({"AllowCredentials": c.allow_credentials, "AllowHeaders": c.allow_headers, "AllowMethods": c.allow_methods,
               "AllowOrigins": c.allow_origins, "ExposeHeaders": c.expose_headers, "MaxAge": c.max_age})
    })
}

fn cors_out(v: &Option<Value>) -> Option<Cors> {
    let v = v.as_ref()?;
    let list = |k: &str| v.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect());
    Some(Cors {
        allow_credentials: v.get("AllowCredentials").and_then(Value::as_bool),
        allow_headers: list("AllowHeaders"),
        allow_methods: list("AllowMethods"),
        allow_origins: list("AllowOrigins"),
        expose_headers: list("ExposeHeaders"),
        max_age: v.get("MaxAge").and_then(Value::as_i64).map(|m| m as i32),
    })
}

fn check_auth(auth: &str) -> Result<()> {
    if auth != "NONE" && auth != "AWS_IAM" {
        return Err(LambdaError::Validation(format!("1 validation error detected: Value '{auth}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]")));
    }
    Ok(())
}

impl Lambda {
    /// `http://<id>.lambda-url.<region>.localhost:<port>/`
    fn url_of(&self, id: &str, region: &str) -> String {
        let port = self.endpoint.rsplit(':').next().unwrap_or("4566");
        format!("http://{id}.lambda-url.{region}.localhost:{port}/")
    }

    fn url_record(&self, scope: &Scope, function: &str) -> Result<UrlRecord> {
        let f = self.function(scope, function)?;
        let found: Option<UrlRecord> = self.store.read(|tx| nubo_store::get_json(tx, URLS, &url_key(scope, &f.name)))?;
        found.ok_or_else(|| LambdaError::ResourceNotFound(format!("The resource you requested does not exist. (Service: Lambda, Status Code: 404) for function {}", f.name)))
    }

    pub(crate) fn create_url(&self, ctx: &RequestContext, input: CreateFunctionUrlConfigRequest) -> Result<CreateFunctionUrlConfigResponse> {
        check_auth(&input.auth_type)?;
        let f = self.function(&ctx.scope, &input.function_name)?;
        let now = self.clock.now().to_iso8601();
        let record = UrlRecord {
            id: ids::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32),
            function: f.name.clone(),
            function_arn: f.arn.clone(),
            auth_type: input.auth_type.clone(),
            invoke_mode: input.invoke_mode.clone().unwrap_or_else(|| "BUFFERED".into()),
            cors: cors_in(input.cors),
            created: now.clone(),
            modified: now,
            address: nubo_core::addressing::public_loopback_address().to_string(),
        };
        let key = url_key(&ctx.scope, &f.name);
        self.store.write(|tx| {
            if nubo_store::get_json::<UrlRecord>(tx, URLS, &key)?.is_some() {
                return Err(LambdaError::ResourceConflict(format!("Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function", f.arn)));
            }
            nubo_store::put_json(tx, URLS, &key, &record)?;
            Ok(())
        })?;
        self.publish_urls();
        Ok(CreateFunctionUrlConfigResponse {
            function_url: self.url_of(&record.id, &ctx.scope.region),
            function_arn: record.function_arn,
            auth_type: record.auth_type,
            cors: cors_out(&record.cors),
            creation_time: record.created,
            invoke_mode: Some(record.invoke_mode),
        })
    }

    pub(crate) fn get_url(&self, ctx: &RequestContext, input: GetFunctionUrlConfigRequest) -> Result<GetFunctionUrlConfigResponse> {
        let r = self.url_record(&ctx.scope, &input.function_name)?;
        Ok(GetFunctionUrlConfigResponse {
            function_url: self.url_of(&r.id, &ctx.scope.region),
            function_arn: r.function_arn,
            auth_type: r.auth_type,
            cors: cors_out(&r.cors),
            creation_time: r.created,
            last_modified_time: r.modified,
            invoke_mode: Some(r.invoke_mode),
        })
    }

    pub(crate) fn update_url(&self, ctx: &RequestContext, input: UpdateFunctionUrlConfigRequest) -> Result<UpdateFunctionUrlConfigResponse> {
        let mut r = self.url_record(&ctx.scope, &input.function_name)?;
        if let Some(a) = input.auth_type {
            check_auth(&a)?;
            r.auth_type = a;
        }
        if input.cors.is_some() {
            r.cors = cors_in(input.cors);
        }
        if let Some(m) = input.invoke_mode {
            r.invoke_mode = m;
        }
        r.modified = self.clock.now().to_iso8601();
        self.store.write(|tx| nubo_store::put_json(tx, URLS, &url_key(&ctx.scope, &r.function), &r))?;
        Ok(UpdateFunctionUrlConfigResponse {
            function_url: self.url_of(&r.id, &ctx.scope.region),
            function_arn: r.function_arn,
            auth_type: r.auth_type,
            cors: cors_out(&r.cors),
            creation_time: r.created,
            last_modified_time: r.modified,
            invoke_mode: Some(r.invoke_mode),
        })
    }

    pub(crate) fn delete_url(&self, ctx: &RequestContext, input: DeleteFunctionUrlConfigRequest) -> Result<()> {
        let r = self.url_record(&ctx.scope, &input.function_name)?;
        self.store.write(|tx| tx.delete(URLS, &url_key(&ctx.scope, &r.function)).map(|_| ()))?;
        self.publish_urls();
        Ok(())
    }

    /// Has the URLs' own addresses listened on (at startup, and as URLs come and go,
    /// before the call that changed them is answered).
    pub fn publish_urls(&self) {
        if let Some(listeners) = &self.url_listeners {
            listeners.sync(self.url_addresses());
        }
    }

    /// Every function URL's own address, with its host name.
    fn url_addresses(&self) -> Vec<(std::net::Ipv4Addr, String)> {
        let all: Vec<(Vec<u8>, UrlRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, URLS, b"", None, usize::MAX)).unwrap_or_default();
        all.into_iter()
            .filter_map(|(key, r)| {
                let region = String::from_utf8_lossy(key.split(|b| *b == 0).nth(1)?).into_owned();
                Some((r.address.parse().ok()?, format!("{}.lambda-url.{region}.localhost", r.id)))
            })
            .collect()
    }

    /// nubo's DNS: a function URL's host name is its own address.
    pub fn resolve_name(&self, name: &str) -> Option<Option<std::net::Ipv4Addr>> {
        if !name.contains(".lambda-url.") || !name.ends_with(".localhost") {
            return None;
        }
        Some(self.url_addresses().into_iter().find(|(_, host)| host == name).map(|(a, _)| a))
    }

    pub(crate) fn list_urls(&self, ctx: &RequestContext, input: ListFunctionUrlConfigsRequest) -> Result<ListFunctionUrlConfigsResponse> {
        let out = match self.url_record(&ctx.scope, &input.function_name) {
            Ok(r) => vec![FunctionUrlConfig {
                function_url: self.url_of(&r.id, &ctx.scope.region),
                function_arn: r.function_arn,
                creation_time: r.created,
                last_modified_time: r.modified,
                cors: cors_out(&r.cors),
                auth_type: r.auth_type,
                invoke_mode: Some(r.invoke_mode),
            }],
            Err(LambdaError::ResourceNotFound(_)) => {
                self.function(&ctx.scope, &input.function_name)?;
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        Ok(ListFunctionUrlConfigsResponse { function_url_configs: out, next_marker: None })
    }
}
