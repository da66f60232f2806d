"""POST /pickups/{pickupId}/disposal: route each collected item to a facility."""
import json

FACILITIES = {"fridge": "wee-recycling", "mattress": "textile-recovery"}


def handler(event, context):
    pickup_id = (event.get("pathParameters") or {}).get("pickupId")
    if not pickup_id:
        return _response(400, {"message": "pickupId is required"})
    body = json.loads(event.get("body") or "{}")
    routes = [
        {"item": item, "facility": FACILITIES.get(item, "general-recycling")}
        for item in body.get("items") or []
    ]
    return _response(200, {"pickupId": pickup_id, "routes": routes})


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
