"""A short Python client for the assistant's HTTP API (any channel can do the same).

python examples/client.py "lam giay khai sinh can gi" [--url http://127.0.0.1:7860]
"""

import argparse
import json

import httpx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("question")
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--session", default="demo-client")
    args = parser.parse_args()
    body = {"question": args.question, "session_id": args.session}
    with httpx.stream(
        "POST", f"{args.url}/api/v1/ask", json=body, headers={"Accept": "text/event-stream"}, timeout=60
    ) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "delta":
                print(json.loads(line[6:])["text"], end="", flush=True)
            elif line.startswith("data: ") and event == "answer":
                answer = json.loads(line[6:])
                print("\n\nNguồn:")
                for c in answer["citations"]:
                    print(f"  [{c['n']}] {c['title']} — {c['section']} {c['url']}")


if __name__ == "__main__":
    main()
