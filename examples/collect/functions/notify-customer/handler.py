"""POST /pickups/{pickupId}/notifications: tell the customer what happens next."""
import json

TEMPLATES = {
    "ASSIGNED": "Your driver {driver} will collect your items today.",
    "COLLECTED": "We have collected your items. Thank you!",
}


def handler(event, context):
    pickup_id = (event.get("pathParameters") or {}).get("pickupId")
    if not pickup_id:
        return _response(400, {"message": "pickupId is required"})
    body = json.loads(event.get("body") or "{}")
    template = TEMPLATES.get(body.get("status"))
    if template is None:
        return _response(422, {"message": "nothing to notify for this status"})
    message = template.format(driver=body.get("driverId", "a driver"))
    return _response(202, {"pickupId": pickup_id, "channel": "sms", "message": message})


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
