"""POST /pickups: book a pickup of bulky items at an address."""
import json
import uuid


def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    address = body.get("address")
    items = body.get("items") or []
    if not address or not items:
        return _response(400, {"message": "address and items are required"})
    pickup = {
        "pickupId": str(uuid.uuid4()),
        "address": address,
        "items": items,
        "status": "REQUESTED",
    }
    return _response(201, pickup)


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
