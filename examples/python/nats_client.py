"""A Python client of Bulwark over NATS (nats-py): a sentiment request and a job.

Run with (a NATS server with JetStream and a node serving it):

    nats-server -js -a 127.0.0.1 -p 4222 &
    cargo run --release -- serve --nats nats://127.0.0.1:4222 &
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install nats-py
    /tmp/venv/bin/python examples/python/nats_client.py nats://127.0.0.1:4222

A request that times out is sent again with the same Correlation-Id; an error reply has a
Status header and the standard error JSON.
"""

import asyncio
import json
import sys
import uuid

import nats
from nats.errors import NoRespondersError, TimeoutError


async def request(nc, subject, body, correlation_id, tries=3):
    headers = {"Correlation-Id": correlation_id, "Content-Type": "application/json"}
    for attempt in range(tries):
        try:
            reply = await nc.request(subject, json.dumps(body).encode(), timeout=5, headers=headers)
        except (TimeoutError, NoRespondersError):
            if attempt == tries - 1:
                raise
            continue
        status = (reply.headers or {}).get("Status")
        payload = json.loads(reply.data)
        if status:
            raise RuntimeError(f"{status} {payload['error_code']}: {payload['message']}")
        return payload


async def main(url):
    nc = await nats.connect(url)
    answer = await request(nc, "bulwark.v1.sentiment", {"text": "The food was GREAT!!"}, "py-1")
    print("sentiment", answer["label"], round(answer["score"], 2), answer["correlation_id"])

    # A job: listen for its result, then publish it; the job id is the message id (a retried
    # publish is stored once).
    job_id = str(uuid.uuid4())
    results = await nc.subscribe(f"bulwark.v1.jobs.results.{job_id}")
    js = nc.jetstream()
    job = {"job_id": job_id, "texts": ["I love it", "Never again"]}
    await js.publish("bulwark.v1.jobs.sentiment", json.dumps(job).encode(),
                     headers={"Nats-Msg-Id": job_id})
    message = await results.next_msg(timeout=30)
    view = json.loads(message.data)
    print("job", job_id, view["status"], [r["label"] for r in view.get("results", [])])
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"))
