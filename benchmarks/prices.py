"""Every price the cost model uses, in one place: update them here, nowhere else.

AWS public list prices for us-east-1 (N. Virginia), on demand, x86, in US dollars, ignoring the free tiers
and volume discounts. As of 2026-11-22: taken from stored copies of the pages named below (AWS's pricing
pages and its "How AWS Pricing Works" whitepaper), not read live that day. Prices change: re-check them at
those addresses before relying on the figures, and update AS_OF with them.
"""

from decimal import Decimal

AS_OF = "2026-11-22"
REGION = "us-east-1"
MILLION = 1_000_000

# AWS Lambda, x86, first 6 billion GB-seconds a month; duration is rounded up to the next millisecond.
LAMBDA_PRICING_URL = "https://aws.amazon.com/lambda/pricing/"
LAMBDA_PER_GB_SECOND = Decimal("0.0000166667")
LAMBDA_PER_REQUEST = Decimal("0.20") / MILLION
LAMBDA_BILLING_GRANULARITY_MS = 1

# Amazon API Gateway, REST API (what Chalice deploys), first 333 million requests a month.
API_GATEWAY_PRICING_URL = "https://aws.amazon.com/api-gateway/pricing/"
API_GATEWAY_REST_PER_REQUEST = Decimal("3.50") / MILLION

# Amazon SQS, standard queue, from 1 million to 100 billion requests a month (the first million a month is free);
# each 64 KB chunk of a request's payload is billed as one request, so a SendMessageBatch of ten small results
# is one. Taken on SQS_AS_OF from third-party copies of the pricing page (cloudburn.io's SQS pricing guide of
# March 2026, and others, agree on $0.40 per million and the 64 KB chunks; the chunk rule is also on
# https://aws.amazon.com/sqs/features/): AWS's page itself was not among the stored copies, so re-check it there.
SQS_PRICING_URL = "https://aws.amazon.com/sqs/pricing/"
SQS_AS_OF = "2026-12-01"
SQS_STANDARD_PER_REQUEST = Decimal("0.40") / MILLION
SQS_BILLED_CHUNK_BYTES = 64 * 1024

# Amazon DynamoDB, on-demand capacity, standard table class: a write request unit writes up to 1 KB of the item
# (the larger of the item before and after an update), a read request unit reads up to 4 KB strongly consistently
# (the jobs table's reads are) or twice that eventually consistently. AWS halved on-demand prices on 2024-11-01.
# Taken on DYNAMODB_AS_OF from third-party copies of the pricing page (airbyte.com's DynamoDB pricing guide of
# July 2025 and jusdb.com's of August 2025 agree on $0.625 and $0.125 per million after that cut): AWS's page
# itself was not among the stored copies, so re-check it there.
DYNAMODB_PRICING_URL = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
DYNAMODB_AS_OF = "2026-12-02"
DYNAMODB_PER_WRITE_REQUEST_UNIT = Decimal("0.625") / MILLION
DYNAMODB_PER_READ_REQUEST_UNIT = Decimal("0.125") / MILLION
DYNAMODB_WRITE_UNIT_BYTES = 1024
DYNAMODB_READ_UNIT_BYTES = 4 * 1024

# Amazon S3 Standard, first 50 TB a month: PUT, COPY, POST and LIST requests (multipart uploads' create, parts and
# complete included) per 1,000; GET, HEAD and the other requests per 1,000; DELETE and abort are free. Storage
# per GB-month, billed for the time an object exists. Taken on S3_AS_OF from third-party copies of the pricing
# page (c3x.dev's "S3 request fees explained", and others): AWS's page itself was not among the stored copies,
# so re-check it there.
S3_PRICING_URL = "https://aws.amazon.com/s3/pricing/"
S3_AS_OF = "2026-12-02"
S3_PUT_CLASS_PER_REQUEST = Decimal("0.005") / 1000
S3_GET_CLASS_PER_REQUEST = Decimal("0.0004") / 1000
S3_STANDARD_PER_GB_MONTH = Decimal("0.023")

# SageMaker asynchronous inference on its smallest general CPU instance, billed per instance-second while it runs
# (it can scale to zero between requests). NOT VERIFIED: no stored copy of the SageMaker pricing page gave this
# instance's hourly price; $0.102 is the us-east-1 list price for ml.c5.large hosting as last known here (about
# 1.2x EC2's c5.large). Re-check it at the page before relying on it. ml.t2.medium, smaller, is priced with the
# published comparison's ALWAYS_ON_PER_HOUR below (also not re-checked).
SAGEMAKER_ASYNC_INSTANCE = "ml.c5.large"
SAGEMAKER_ASYNC_PER_HOUR = Decimal("0.102")
SAGEMAKER_ASYNC_AS_OF = "not verified"
SAGEMAKER_PRICING_URL = "https://aws.amazon.com/sagemaker/pricing/"

# The published comparison that cost.py reproduces as a check of its arithmetic: its own figures, as given
# ("$0.0000124 per 4 s execution; 50,000 predictions cost $0.62 at batch 1, $0.062 at 10, $0.0062 at 100;
# an always-on ml.t2.medium at $0.07/hour = $50.40/month"). Its source is not recorded in this repository.
PUBLISHED_COST_PER_EXECUTION = Decimal("0.0000124")
PUBLISHED_EXECUTION_SECONDS = 4
PUBLISHED_PREDICTIONS = 50_000
PUBLISHED_BATCH_SIZES = (1, 10, 100)

# The always-on alternative for the break-even rate: the published comparison's instance and hourly price,
# not re-checked (SageMaker real-time hosting: https://aws.amazon.com/sagemaker/pricing/). A month is 720
# hours (30 days), as that comparison counts it.
ALWAYS_ON_INSTANCE = "ml.t2.medium"
ALWAYS_ON_PER_HOUR = Decimal("0.07")
ALWAYS_ON_PRICING_URL = "https://aws.amazon.com/sagemaker/pricing/"
HOURS_PER_MONTH = 720
