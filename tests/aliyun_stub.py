"""A local stand-in for Alibaba Cloud's SMS API (dysmsapi, 2017-05-25), served over HTTP on
127.0.0.1: the official SDK, pointed at it (ALIYUN_SMS_ENDPOINT), builds and signs every
request itself; the stand-in reads the action and its parameters and answers as the
provider does (HTTP 200 with a Code, "OK" or an error's name)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class AliyunStub:
    """Push error codes ("isv.MOBILE_NUMBER_ILLEGAL", ...) onto `script` for the next sends;
    an empty script answers OK. `sent` keeps what each accepted send asked for."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.sent: list[dict[str, str]] = []
        self.lookups = 0
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AliyunStub:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.thread.join()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        action = request.headers.get("x-acs-action", "")
        signed = request.headers.get("Authorization", "").startswith("ACS3-HMAC-SHA256")
        args = request.args.to_dict()
        request_id = uuid.uuid4().hex.upper()
        if not signed:
            body: dict[str, Any] = {"Code": "IncompleteSignature", "RequestId": request_id}
            status = 400
        elif action == "SendSms":
            body, status = self._send(args, request_id), 200
        elif action == "QuerySendDetails":
            body, status = self._query(args, request_id), 200
        else:
            body, status = {"Code": "InvalidAction", "RequestId": request_id}, 404
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        return response(environ, start_response)

    def _send(self, args: dict[str, str], request_id: str) -> dict[str, Any]:
        with self.lock:
            code = self.script.popleft() if self.script else "OK"
            if code != "OK":
                return {"Code": code, "Message": f"stand-in: {code}", "RequestId": request_id}
            biz_id = f"{len(self.sent) + 1:06d}^0"
            self.sent.append({**args, "BizId": biz_id})
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def _query(self, args: dict[str, str], request_id: str) -> dict[str, Any]:
        with self.lock:
            self.lookups += 1
            found = [s for s in self.sent if s["PhoneNumbers"] == args.get("PhoneNumber")]
        details = [
            {"PhoneNum": s["PhoneNumbers"], "SendStatus": 3, "TemplateCode": s["TemplateCode"],
             "OutId": s.get("OutId", ""), "Content": "", "SendDate": "", "ErrCode": "DELIVERED"}
            for s in found
        ]  # fmt: skip
        return {
            "Code": "OK",
            "Message": "OK",
            "RequestId": request_id,
            "TotalCount": str(len(details)),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
        }
