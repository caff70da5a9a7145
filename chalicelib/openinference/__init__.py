"""The Open Inference Protocol (KServe V2 REST dataplane) beside the JSON API: tensors from PFA types,
requests read into records, and the protocol's calls on the same scoring service."""
