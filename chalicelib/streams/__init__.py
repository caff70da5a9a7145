"""Scoring from SQS queues and Kinesis streams: the same models, validation and answers as ``POST /predict``,
one result message per record on the results queue, and only transient failures retried.

- :mod:`.sources`: Lambda's SQS and Kinesis events, read into deliveries;
- :mod:`.messages`: a message body, read as one record or an envelope;
- :mod:`.batch`: scoring a batch of deliveries, telling caller mistakes from transient failures;
- :mod:`.results`: result messages, sent to the results queue in batches;
- :mod:`.handlers`: what the app's event handlers call;
- :mod:`.event_sources`: the deploy-time settings of the event source mappings.
"""
