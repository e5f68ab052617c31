# nubo's bootstrap for Python functions: loads the handler and runs the Lambda Runtime
# API loop (next invocation, then response or error) against AWS_LAMBDA_RUNTIME_API.
import importlib
import json
import os
import socket
import sys
import time
import traceback

# A small HTTP/1.1 client over one kept-alive socket: urllib would cost a cold start
# tens of milliseconds of imports.
_HOST, _, _PREFIX = os.environ["AWS_LAMBDA_RUNTIME_API"].partition("/")
_ADDR = (_HOST.rpartition(":")[0], int(_HOST.rpartition(":")[2]))
API = ("/" + _PREFIX if _PREFIX else "") + "/2018-06-01/runtime"
_conn = None


def request(method, path, body=b"", headers=None):
    global _conn
    for attempt in (0, 1):
        try:
            if _conn is None:
                _conn = socket.create_connection(_ADDR).makefile("rwb")
            head = f"{method} {API}{path} HTTP/1.1\r\nHost: {_HOST}\r\nContent-Length: {len(body)}\r\n"
            for k, v in (headers or {}).items():
                head += f"{k}: {v}\r\n"
            _conn.write(head.encode() + b"\r\n" + body)
            _conn.flush()
            status = _conn.readline()
            if not status:
                raise ConnectionError("closed")
            response_headers = {}
            while True:
                line = _conn.readline().decode().rstrip("\r\n")
                if not line:
                    break
                k, _, v = line.partition(":")
                response_headers[k.strip().lower()] = v.strip()
            data = _conn.read(int(response_headers.get("content-length", "0")))
            return response_headers, data
        except (ConnectionError, OSError):
            _conn = None
            if attempt:
                raise


def post(path, body, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    request("POST", path, body, headers)


def error_body(e, error_type=None):
    return json.dumps({
        "errorMessage": str(e),
        "errorType": error_type or type(e).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(e.__traceback__.tb_next or e.__traceback__),
    }).encode()


class Context:
    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main():
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    except Exception as e:
        kind = "Runtime.ImportModuleError" if isinstance(e, ImportError) else "Runtime.HandlerNotFound" if isinstance(e, AttributeError) else "Runtime.UserCodeSyntaxError"
        message = f"Unable to import module '{module_name}': {e}" if kind == "Runtime.ImportModuleError" else f"Handler '{function_name}' missing on module '{module_name}'" if kind == "Runtime.HandlerNotFound" else str(e)
        print(f"[ERROR] {kind}: {message}", flush=True)
        post("/init/error", json.dumps({"errorMessage": message, "errorType": kind, "stackTrace": []}).encode(), kind)
        sys.exit(1)
    while True:
        headers, raw = request("GET", "/invocation/next")
        request_id = headers["lambda-runtime-aws-request-id"]
        context = Context(request_id, int(headers["lambda-runtime-deadline-ms"]), headers["lambda-runtime-invoked-function-arn"])
        try:
            result = handler(json.loads(raw) if raw else None, context)
            body = json.dumps(result).encode()
        except Exception as e:
            print(f"[ERROR] {type(e).__name__}: {e}\nTraceback (most recent call last):\n{''.join(traceback.format_tb(e.__traceback__.tb_next or e.__traceback__))}", end="", flush=True)
            sys.stderr.flush()
            payload = json.loads(error_body(e))
            payload["requestId"] = request_id
            post(f"/invocation/{request_id}/error", json.dumps(payload).encode(), "Unhandled")
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        post(f"/invocation/{request_id}/response", body)


main()
