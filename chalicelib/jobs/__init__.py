"""Scoring files of records as jobs: an upload straight to S3 starts a job, its rows are scored in chunks by
separate invocations, and the last chunk to finish assembles one output line per input row.

- ``settings``: the jobs' variables, read once;
- ``layout``: where a job's objects live in the jobs bucket, and its id;
- ``store``: the job's state in DynamoDB, every transition a conditional write;
- ``uploads``: the presigned POST that bounds the upload's size, and the results links;
- ``rows``: a file's rows as byte ranges, split where a row ends (never the whole file in memory);
- ``reading``: a row's bytes to the model's input value (CSV cells by the input type, JSON lines);
- ``planning``: an upload's event to checked chunks on the queue;
- ``chunks``: one chunk scored to its part of the output, counted once;
- ``assembly``: the parts joined in row order (S3 multipart copy) and the job closed;
- ``service``: what the routes and handlers call.
"""
