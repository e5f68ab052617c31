//! Reserved concurrency (Put/Get/DeleteFunctionConcurrency): kept on `$LATEST`, applied
//! to every version; what it reserves is taken from the account's unreserved share, which
//! must stay at 100 or more. [`crate::activity`] enforces it.

use crate::activity::{ACCOUNT_LIMIT, MIN_UNRESERVED};
use crate::error::{invalid, LambdaError, Result};
use crate::functions::{function_key, function_name, FunctionRecord, FUNCTIONS};
use crate::Lambda;
use nubo_core::{RequestContext, Scope};
use nubo_model::generated::lambda::*;
use nubo_store::key::key;

impl Lambda {
    /// What the account's functions reserve, but `except`'s.
    pub(crate) fn reserved_elsewhere(&self, scope: &Scope, except: &str) -> Result<i32> {
        let all: Vec<(Vec<u8>, FunctionRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, FUNCTIONS, &key(&[&scope.account, &scope.region]), None, usize::MAX))?;
        Ok(all.iter().filter(|(_, f)| f.name != except).filter_map(|(_, f)| f.reserved_concurrency).sum())
    }

    fn set_reserved(&self, scope: &Scope, name: &str, reserved: Option<i32>) -> Result<()> {
        let name = function_name(name);
        self.store.write(|tx| {
            let k = function_key(scope, &name);
            let Some(mut f) = nubo_store::get_json::<FunctionRecord>(tx, FUNCTIONS, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)));
            };
            f.reserved_concurrency = reserved;
            Ok(nubo_store::put_json(tx, FUNCTIONS, &k, &f)?)
        })
    }

    pub async fn put_function_concurrency(&self, ctx: &RequestContext, input: PutFunctionConcurrencyRequest) -> Result<Concurrency> {
        let n = input.reserved_concurrent_executions;
        if n < 0 {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
            )));
        }
        let f = self.function(&ctx.scope, &input.function_name)?;
        if ACCOUNT_LIMIT - self.reserved_elsewhere(&ctx.scope, &f.name)? - n < MIN_UNRESERVED {
            return invalid(format!("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."));
        }
        self.set_reserved(&ctx.scope, &f.name, Some(n))?;
        Ok(Concurrency { reserved_concurrent_executions: Some(n) })
    }

    pub async fn get_function_concurrency(&self, ctx: &RequestContext, input: GetFunctionConcurrencyRequest) -> Result<GetFunctionConcurrencyResponse> {
        Ok(GetFunctionConcurrencyResponse { reserved_concurrent_executions: self.function(&ctx.scope, &input.function_name)?.reserved_concurrency })
    }

    pub async fn delete_function_concurrency(&self, ctx: &RequestContext, input: DeleteFunctionConcurrencyRequest) -> Result<()> {
        self.set_reserved(&ctx.scope, &input.function_name, None)
    }
}
