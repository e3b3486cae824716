"""Test driver of functions/status-page/status_page.py against moto_server: one process per scenario.

stdin: {"region": ..., "bucket": ..., "topic": ..., "steps": [event, ...]}. It creates the bucket, the
customer topic and a queue subscribed to it, then runs the handler on each event and prints, per step,
the result (or the error), the page, the document and the messages customers received since the step
before, as one JSON list.

A step `{"race": {"first": event, "second": event, "at": "document" | "page"}}` runs two invocations
that overlap deterministically: the first one's S3 client runs the whole second invocation right after
the first has read status.json ("document") or looked at index.html ("page"), before it writes.
"""
import json
import os
import sys

import boto3

sys.path.insert(0, os.environ["FUNCTION_DIR"])
import status_page  # noqa: E402

spec = json.load(sys.stdin)
region = spec["region"]
s3 = boto3.client("s3", region_name=region)
sns = boto3.client("sns", region_name=region)
sqs = boto3.client("sqs", region_name=region)
s3.create_bucket(Bucket=spec["bucket"], CreateBucketConfiguration={"LocationConstraint": region})
topic = sns.create_topic(Name=spec["topic"])["TopicArn"]
queue = sqs.create_queue(QueueName=spec["topic"])["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
os.environ["STATUS_BUCKET"] = spec["bucket"]
os.environ["CUSTOMER_TOPIC_ARN"] = topic


def received():
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            body = json.loads(m["Body"])
            out.append({"Subject": body.get("Subject"), "Message": body["Message"]})
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


class Racing:
    """An S3 client that runs `competitor` once, just after the first read of `key` (get or head)."""

    def __init__(self, client, key, competitor):
        self._client, self._key, self._competitor = client, key, competitor

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in ("get_object", "head_object"):
            return attr

        def call(**kwargs):
            try:
                return attr(**kwargs)
            finally:
                if kwargs.get("Key") == self._key and self._competitor:
                    competitor, self._competitor = self._competitor, None
                    competitor()
        return call


def run(event):
    if "race" not in event:
        return status_page.handler(event)
    race = event["race"]
    key = "status.json" if race.get("at", "document") == "document" else "index.html"
    results = {}

    def second():
        results["second"] = status_page.handler(race["second"])
    results["first"] = status_page.handler(race["first"], s3=Racing(boto3.client("s3", region_name=region), key, second))
    return results


steps = []
for event in spec["steps"]:
    step = {}
    try:
        step["result"] = run(event)
    except Exception as e:  # the test asserts on the message
        step["error"] = f"{type(e).__name__}: {e}"
    try:
        step["html"] = s3.get_object(Bucket=spec["bucket"], Key="index.html")["Body"].read().decode()
        step["doc"] = json.loads(s3.get_object(Bucket=spec["bucket"], Key="status.json")["Body"].read())
        step["cacheControl"] = s3.head_object(Bucket=spec["bucket"], Key="index.html").get("CacheControl")
    except s3.exceptions.NoSuchKey:
        step["html"] = None
    step["received"] = received()
    steps.append(step)
print(json.dumps(steps))
