"""A job's state: one DynamoDB item per job, keyed by ``job_id``, every change a conditional write.

The conditions are what make duplicates harmless: an upload event moves a job out of ``waiting_for_upload``
once; a chunk is counted once (its entry in the ``chunks`` map must not exist yet, and the counters are added
in the same write); a job leaves ``running`` once.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ServiceError

_NAME = re.compile(r"#(\w+)")
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
KEY = "job_id"


class JobStoreUnavailable(ServiceError):
    """The jobs table cannot be read or written now; the same call may succeed later."""

    status = 503
    code = "jobs_unavailable"
    transient = True


@dataclass
class Change:
    """One conditional update: ``SET`` these attributes (a dotted name is a path into a map), ``ADD`` these
    numbers, if ``condition`` holds: an expression whose ``#name`` stands for the attribute ``name`` and whose
    ``:value`` placeholders are in ``values``."""

    set: Dict[str, Any] = field(default_factory=dict)
    add: Dict[str, int] = field(default_factory=dict)
    condition: Optional[str] = None
    names: Dict[str, str] = field(default_factory=dict)
    values: Dict[str, Any] = field(default_factory=dict)

    def expression(self) -> Dict[str, Any]:
        names = {f"#{name}": name for name in _NAME.findall(self.condition or "")}
        names.update(self.names)
        values = dict(self.values)
        clauses: List[str] = []
        for verb, items, joiner in (("SET", self.set, " = "), ("ADD", self.add, " ")):
            parts = []
            for index, (path, value) in enumerate(items.items()):
                placeholder = f":{verb.lower()}{index}"
                parts.append(_path(path, names) + joiner + placeholder)
                values[placeholder] = value
            if parts:
                clauses.append(f"{verb} " + ", ".join(parts))
        request: Dict[str, Any] = {"UpdateExpression": " ".join(clauses)}
        if self.condition:
            request["ConditionExpression"] = self.condition
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = {key: _SERIALIZER.serialize(value) for key, value in values.items()}
        return request


class JobStore:
    """The jobs table; handed its boto3 DynamoDB client."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self.table = table

    def create(self, item: Mapping[str, Any]) -> None:
        self._call("put_item", Item=_item(item), ConditionExpression="attribute_not_exists(job_id)")

    def get(self, job_id: str) -> Optional[Dict[str, Any]]:
        response = self._call("get_item", Key=_key(job_id), ConsistentRead=True)
        return _plain(response["Item"]) if "Item" in response else None

    def update(self, job_id: str, change: Change) -> Optional[Dict[str, Any]]:
        """The job after the change, or None when its condition did not hold (nothing was written)."""
        try:
            response = self._db.update_item(TableName=self.table, Key=_key(job_id), ReturnValues="ALL_NEW",
                                            **change.expression())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None
        return _plain(response["Attributes"])

    def _call(self, operation: str, **request: Any) -> Any:
        try:
            return getattr(self._db, operation)(TableName=self.table, **request)
        except (BotoCoreError, ClientError) as error:
            raise _unavailable(error) from None


def _path(path: str, names: Dict[str, str]) -> str:
    parts = []
    for part in path.split("."):
        placeholder = f"#{part}"
        names[placeholder] = part
        parts.append(placeholder)
    return ".".join(parts)


def _key(job_id: str) -> Dict[str, Any]:
    return {KEY: {"S": job_id}}


def _item(item: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items() if value is not None}


def _plain(item: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: _number(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _number(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; jobs store only whole numbers."""
    if isinstance(value, dict):
        return {key: _number(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_number(inner) for inner in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def _unavailable(error: Exception) -> JobStoreUnavailable:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return JobStoreUnavailable(f"the jobs table cannot be reached now ({code}); try again shortly")
    return JobStoreUnavailable("the jobs table cannot be reached now; try again shortly")
