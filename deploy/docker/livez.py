"""The container's HEALTHCHECK: GET /livez on the port the bot serves its probes on — HEALTH_PORT
(default 8081) in Socket Mode (SLACK_APP_TOKEN or SLACK_APP_TOKEN_FILE set), else PORT (default 3000).
Exit 0 when it answers 200, 1 otherwise. Standard library only: the image has no curl."""

import os
import sys
import urllib.request

socket_mode = os.environ.get("SLACK_APP_TOKEN") or os.environ.get("SLACK_APP_TOKEN_FILE")
port = os.environ.get("HEALTH_PORT", "8081") if socket_mode else os.environ.get("PORT", "3000")
# No proxy for a loopback request, whatever HTTP_PROXY says.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(f"http://127.0.0.1:{port}/livez", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError:
    sys.exit(1)
