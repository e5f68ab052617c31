// nubo's bootstrap for Node.js functions: loads the handler and runs the Lambda Runtime
// API loop against AWS_LAMBDA_RUNTIME_API (handlers may be async or take a callback).
const http = require("http");
const path = require("path");

const [host, ...rest] = process.env.AWS_LAMBDA_RUNTIME_API.split("/");
const [hostname, port] = host.split(":");
const prefix = (rest.length ? "/" + rest.join("/") : "") + "/2018-06-01/runtime";

function call(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: prefix + p, method, headers: { "Content-Type": "application/json", ...(headers || {}) } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(e) {
  return JSON.stringify({ errorType: (e && e.name) || "Error", errorMessage: (e && e.message) || String(e), trace: ((e && e.stack) || "").split("\n") });
}

async function main() {
  const [file, fn] = process.env._HANDLER.split(/\.(?=[^.]+$)/);
  let handler;
  try {
    const mod = require(path.join(process.env.LAMBDA_TASK_ROOT || ".", file));
    handler = mod[fn];
    if (typeof handler !== "function") throw Object.assign(new Error(`${file}.${fn} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  } catch (e) {
    await call("POST", "/init/error", errorBody(e), { "Lambda-Runtime-Function-Error-Type": e.name || "Runtime.ImportModuleError" });
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
    const context = {
      awsRequestId: id,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const event = next.body ? JSON.parse(next.body) : null;
      const result = await new Promise((resolve, reject) => {
        const out = handler(event, context, (err, value) => (err ? reject(err) : resolve(value)));
        if (out && typeof out.then === "function") out.then(resolve, reject);
      });
      await call("POST", `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (e) {
      console.error(`ERROR\t${id}\t${(e && e.stack) || e}`);
      await call("POST", `/invocation/${id}/error`, errorBody(e), { "Lambda-Runtime-Function-Error-Type": "Unhandled" });
    }
  }
}

main();
