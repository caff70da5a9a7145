"""KServe's InferenceRESTClient (RESTConfig(protocol="v2")) against a running service, for
tests/test_open_inference_clients.py.

Run by .venv-kserve's Python (`make venv-kserve`: kserve cannot share the project's venv) with the service's base
URL as its one argument; prints one JSON object of what the client saw: health, readiness, the predictions for
every Sonar row (JSON and binary tensors) and every iris row, and the status and message of two refused calls.
"""

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import httpx
import numpy as np
from kserve.inference_client import InferenceRESTClient, RESTConfig
from kserve.protocol.infer_type import InferInput, InferRequest

DATA = Path(__file__).parent / "data"
SONAR = "sonar_naive_bayes"
SONAR_INPUTS = [f"V{i}" for i in range(1, 61)]
IRIS_COLUMNS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width", "Petal.Length": "petal_length",
                "Petal.Width": "petal_width"}


def columns(path: Path, names: Dict[str, str]) -> Dict[str, List[float]]:
    """The CSV's columns ``names`` (CSV name -> tensor name), as floats."""
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return {tensor: [float(row[column]) for row in rows] for column, tensor in names.items()}


def json_inputs(data: Dict[str, List[float]]) -> List[InferInput]:
    return [InferInput(name, [len(values)], "FP64", data=values) for name, values in data.items()]


def binary_inputs(data: Dict[str, List[float]]) -> List[InferInput]:
    inputs = []
    for name, values in data.items():
        tensor = InferInput(name, [len(values)], "FP64")
        tensor.set_data_from_numpy(np.array(values, dtype=np.float64), binary_data=True)
        inputs.append(tensor)
    return inputs


async def infer(client: InferenceRESTClient, url: str, model: str, inputs: List[InferInput]) -> Dict[str, Any]:
    headers: Dict[str, str] = {}
    response = await client.infer(url, InferRequest(model, inputs, request_id=f"kserve-{model}"), model_name=model,
                                  response_headers=headers)
    version = {key.lower(): value for key, value in headers.items()}.get("x-model-version")
    return {"predictions": list(response.outputs[0].data), "outputs": [output.name for output in response.outputs],
            "id": response.id, "model_version": version,
            # KServe's InferResponse.from_bytes does not keep the body's model_version (kserve 0.21.0)
            "body_model_version": response.model_version}


async def refusal(client: InferenceRESTClient, url: str, model: str,
                  inputs: List[InferInput]) -> Optional[Dict[str, Any]]:
    """The status and message of an inference the service must refuse; None if it did not."""
    try:
        await client.infer(url, InferRequest(model, inputs), model_name=model)
    except httpx.HTTPStatusError as error:
        return {"status": error.response.status_code, "message": str(error)}
    return None


async def main(url: str) -> Dict[str, Any]:
    sonar = columns(DATA / "sonar.csv", {name: name for name in SONAR_INPUTS})
    iris = columns(DATA / "iris.csv", IRIS_COLUMNS)
    async with InferenceRESTClient(RESTConfig(protocol="v2", timeout=120)) as client:
        return {
            "server_live": await client.is_server_live(url),
            "server_ready": await client.is_server_ready(url),
            "model_ready": {name: await client.is_model_ready(url, name) for name in (SONAR, "iris", "nosuchmodel")},
            "sonar": {"json": await infer(client, url, SONAR, json_inputs(sonar)),
                      "binary": await infer(client, url, SONAR, binary_inputs(sonar))},
            "iris": await infer(client, url, "iris", json_inputs(iris)),
            "errors": {
                "unknown_input": await refusal(client, url, SONAR, json_inputs({**sonar, "V61": sonar["V60"]})),
                "unknown_model": await refusal(client, url, "nosuchmodel", json_inputs(iris)),
            },
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
