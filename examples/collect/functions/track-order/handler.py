"""GET /pickups/{pickupId}: where the pickup is in its lifecycle."""
import json

STATUSES = ["REQUESTED", "QUOTED", "ASSIGNED", "COLLECTED", "DISPOSED"]


def handler(event, context):
    pickup_id = (event.get("pathParameters") or {}).get("pickupId")
    if not pickup_id:
        return _response(400, {"message": "pickupId is required"})
    # A real service reads the pickup from its table; the example derives it.
    status = STATUSES[sum(map(ord, pickup_id)) % len(STATUSES)]
    return _response(200, {"pickupId": pickup_id, "status": status})


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
