//! Amazon DynamoDB.
//!
//! Tables and items live in the store ([`records`]); every write is one transaction that
//! changes the item, its index entries and the table's counts together, so an
//! acknowledged write survives `kill -9` and an index never shows an item the table does
//! not have. Keys are stored in DynamoDB's order ([`keys`]), so a Query reads one ordered
//! key range. Values are [`value::AttrValue`]s with exact decimal [`number`]s;
//! [`expr`] parses and evaluates the five expression kinds; [`wire`] checks what
//! arrives and sizes items; [`request`] holds the checks every item operation shares.
//! [`tables`], [`items`], [`reads`], [`batch`] and [`transactions`] are the API;
//! [`partiql`] translates PartiQL statements that [`statements`] runs as those operations;
//! [`backups`] keeps backups and the point-in-time log; [`ttl`] is the controller that deletes expired items; [`streams`] records changes
//! and serves the DynamoDB Streams API (a second handler over the same tables).

mod backups;
mod batch;
mod error;
pub mod expr;
mod items;
mod partiql;
mod keys;
pub mod number;
mod reads;
mod records;
mod request;
mod schema;
mod statements;
mod streams;
mod tables;
mod transactions;
pub mod ttl;
pub mod value;
mod wire;

use error::Result;
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::dynamodb::{self, *};
use nubo_model::generated::dynamodbstreams::{self, *};
use nubo_model::Handler;
use nubo_store::{ReadTxn, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct DynamoDb {
    store: Store,
    clock: Clock,
    /// ClientRequestTokens of recent write transactions: the request's fingerprint and
    /// when it ran (see [`transactions`]).
    tokens: Arc<Mutex<HashMap<String, (String, f64)>>>,
    /// Woken after any write commits: readers of streams (Lambda's mappings) wait on it.
    stream_activity: Arc<tokio::sync::Notify>,
}

impl DynamoDb {
    pub fn new(store: Store, clock: Clock) -> DynamoDb {
        DynamoDb { store, clock, tokens: Default::default(), stream_activity: Default::default() }
    }

    /// Runs `f` on a snapshot of the store.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        self.store.read(|tx| Ok(f(tx)))?
    }
}

pub fn service(ddb: DynamoDb) -> Box<dyn Handler> {
    Box::new(dynamodb::Service(ddb))
}

/// The DynamoDB Streams API, served over the same store.
pub fn streams_service(ddb: DynamoDb) -> Box<dyn Handler> {
    Box::new(dynamodbstreams::Service(Streams(ddb)))
}

pub struct Streams(DynamoDb);

impl dynamodbstreams::DynamoDbStreams for Streams {
    async fn list_streams(&self, ctx: &RequestContext, input: ListStreamsInput) -> std::result::Result<ListStreamsOutput, AwsError> {
        Ok(self.0.list_streams(ctx, input).await?)
    }
    async fn describe_stream(&self, ctx: &RequestContext, input: DescribeStreamInput) -> std::result::Result<DescribeStreamOutput, AwsError> {
        Ok(self.0.describe_stream(ctx, input).await?)
    }
    async fn get_shard_iterator(&self, ctx: &RequestContext, input: GetShardIteratorInput) -> std::result::Result<GetShardIteratorOutput, AwsError> {
        Ok(self.0.get_shard_iterator(ctx, input).await?)
    }
    async fn get_records(&self, ctx: &RequestContext, input: GetRecordsInput) -> std::result::Result<GetRecordsOutput, AwsError> {
        Ok(self.0.get_records(ctx, input).await?)
    }
}

/// Every operation delegates to its module; this block is the whole API surface.
impl dynamodb::DynamoDb for DynamoDb {
    async fn create_table(&self, ctx: &RequestContext, input: CreateTableInput) -> std::result::Result<CreateTableOutput, AwsError> {
        Ok(DynamoDb::create_table(self, ctx, input).await?)
    }
    async fn describe_table(&self, ctx: &RequestContext, input: DescribeTableInput) -> std::result::Result<DescribeTableOutput, AwsError> {
        Ok(DynamoDb::describe_table(self, ctx, input).await?)
    }
    async fn list_tables(&self, ctx: &RequestContext, input: ListTablesInput) -> std::result::Result<ListTablesOutput, AwsError> {
        Ok(DynamoDb::list_tables(self, ctx, input).await?)
    }
    async fn update_table(&self, ctx: &RequestContext, input: UpdateTableInput) -> std::result::Result<UpdateTableOutput, AwsError> {
        Ok(DynamoDb::update_table(self, ctx, input).await?)
    }
    async fn delete_table(&self, ctx: &RequestContext, input: DeleteTableInput) -> std::result::Result<DeleteTableOutput, AwsError> {
        Ok(DynamoDb::delete_table(self, ctx, input).await?)
    }
    async fn put_item(&self, ctx: &RequestContext, input: PutItemInput) -> std::result::Result<PutItemOutput, AwsError> {
        Ok(DynamoDb::put_item(self, ctx, input).await?)
    }
    async fn get_item(&self, ctx: &RequestContext, input: GetItemInput) -> std::result::Result<GetItemOutput, AwsError> {
        Ok(DynamoDb::get_item(self, ctx, input).await?)
    }
    async fn update_item(&self, ctx: &RequestContext, input: UpdateItemInput) -> std::result::Result<UpdateItemOutput, AwsError> {
        Ok(DynamoDb::update_item(self, ctx, input).await?)
    }
    async fn delete_item(&self, ctx: &RequestContext, input: DeleteItemInput) -> std::result::Result<DeleteItemOutput, AwsError> {
        Ok(DynamoDb::delete_item(self, ctx, input).await?)
    }
    async fn query(&self, ctx: &RequestContext, input: QueryInput) -> std::result::Result<QueryOutput, AwsError> {
        Ok(DynamoDb::query(self, ctx, input).await?)
    }
    async fn scan(&self, ctx: &RequestContext, input: ScanInput) -> std::result::Result<ScanOutput, AwsError> {
        Ok(DynamoDb::scan(self, ctx, input).await?)
    }
    async fn batch_get_item(&self, ctx: &RequestContext, input: BatchGetItemInput) -> std::result::Result<BatchGetItemOutput, AwsError> {
        Ok(DynamoDb::batch_get_item(self, ctx, input).await?)
    }
    async fn batch_write_item(&self, ctx: &RequestContext, input: BatchWriteItemInput) -> std::result::Result<BatchWriteItemOutput, AwsError> {
        Ok(DynamoDb::batch_write_item(self, ctx, input).await?)
    }
    async fn transact_write_items(&self, ctx: &RequestContext, input: TransactWriteItemsInput) -> std::result::Result<TransactWriteItemsOutput, AwsError> {
        Ok(DynamoDb::transact_write_items(self, ctx, input).await?)
    }
    async fn transact_get_items(&self, ctx: &RequestContext, input: TransactGetItemsInput) -> std::result::Result<TransactGetItemsOutput, AwsError> {
        Ok(DynamoDb::transact_get_items(self, ctx, input).await?)
    }
    async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceInput) -> std::result::Result<(), AwsError> {
        Ok(DynamoDb::tag_resource(self, ctx, input).await?)
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceInput) -> std::result::Result<(), AwsError> {
        Ok(DynamoDb::untag_resource(self, ctx, input).await?)
    }
    async fn list_tags_of_resource(&self, ctx: &RequestContext, input: ListTagsOfResourceInput) -> std::result::Result<ListTagsOfResourceOutput, AwsError> {
        Ok(DynamoDb::list_tags_of_resource(self, ctx, input).await?)
    }
    async fn update_time_to_live(&self, ctx: &RequestContext, input: UpdateTimeToLiveInput) -> std::result::Result<UpdateTimeToLiveOutput, AwsError> {
        Ok(DynamoDb::update_time_to_live(self, ctx, input).await?)
    }
    async fn describe_time_to_live(&self, ctx: &RequestContext, input: DescribeTimeToLiveInput) -> std::result::Result<DescribeTimeToLiveOutput, AwsError> {
        Ok(DynamoDb::describe_time_to_live(self, ctx, input).await?)
    }
    async fn describe_continuous_backups(&self, ctx: &RequestContext, input: DescribeContinuousBackupsInput) -> std::result::Result<DescribeContinuousBackupsOutput, AwsError> {
        Ok(DynamoDb::describe_continuous_backups(self, ctx, input).await?)
    }
    async fn update_continuous_backups(&self, ctx: &RequestContext, input: UpdateContinuousBackupsInput) -> std::result::Result<UpdateContinuousBackupsOutput, AwsError> {
        Ok(DynamoDb::update_continuous_backups(self, ctx, input).await?)
    }
    async fn execute_statement(&self, ctx: &RequestContext, input: ExecuteStatementInput) -> std::result::Result<ExecuteStatementOutput, AwsError> {
        Ok(DynamoDb::execute_statement(self, ctx, input).await?)
    }
    async fn batch_execute_statement(&self, ctx: &RequestContext, input: BatchExecuteStatementInput) -> std::result::Result<BatchExecuteStatementOutput, AwsError> {
        Ok(DynamoDb::batch_execute_statement(self, ctx, input).await?)
    }
    async fn execute_transaction(&self, ctx: &RequestContext, input: ExecuteTransactionInput) -> std::result::Result<ExecuteTransactionOutput, AwsError> {
        Ok(DynamoDb::execute_transaction(self, ctx, input).await?)
    }
    async fn create_backup(&self, ctx: &RequestContext, input: CreateBackupInput) -> std::result::Result<CreateBackupOutput, AwsError> {
        Ok(DynamoDb::create_backup(self, ctx, input).await?)
    }
    async fn describe_backup(&self, ctx: &RequestContext, input: DescribeBackupInput) -> std::result::Result<DescribeBackupOutput, AwsError> {
        Ok(DynamoDb::describe_backup(self, ctx, input).await?)
    }
    async fn list_backups(&self, ctx: &RequestContext, input: ListBackupsInput) -> std::result::Result<ListBackupsOutput, AwsError> {
        Ok(DynamoDb::list_backups(self, ctx, input).await?)
    }
    async fn delete_backup(&self, ctx: &RequestContext, input: DeleteBackupInput) -> std::result::Result<DeleteBackupOutput, AwsError> {
        Ok(DynamoDb::delete_backup(self, ctx, input).await?)
    }
    async fn restore_table_from_backup(&self, ctx: &RequestContext, input: RestoreTableFromBackupInput) -> std::result::Result<RestoreTableFromBackupOutput, AwsError> {
        Ok(DynamoDb::restore_table_from_backup(self, ctx, input).await?)
    }
    async fn restore_table_to_point_in_time(&self, ctx: &RequestContext, input: RestoreTableToPointInTimeInput) -> std::result::Result<RestoreTableToPointInTimeOutput, AwsError> {
        Ok(DynamoDb::restore_table_to_point_in_time(self, ctx, input).await?)
    }
    async fn describe_limits(&self, _: &RequestContext, _: DescribeLimitsInput) -> std::result::Result<DescribeLimitsOutput, AwsError> {
        Ok(DynamoDb::describe_limits(self))
    }
    async fn describe_endpoints(&self, ctx: &RequestContext, _: DescribeEndpointsRequest) -> std::result::Result<DescribeEndpointsResponse, AwsError> {
        Ok(DynamoDb::describe_endpoints(self, ctx))
    }
}
