"""POST /pickups/{pickupId}/driver: assign the nearest available driver."""
import json

DRIVERS = [
    {"driverId": "d-101", "zone": "north", "available": True},
    {"driverId": "d-102", "zone": "south", "available": True},
    {"driverId": "d-103", "zone": "north", "available": False},
]


def handler(event, context):
    pickup_id = (event.get("pathParameters") or {}).get("pickupId")
    if not pickup_id:
        return _response(400, {"message": "pickupId is required"})
    body = json.loads(event.get("body") or "{}")
    zone = body.get("zone", "north")
    driver = next((d for d in DRIVERS if d["zone"] == zone and d["available"]), None)
    if driver is None:
        return _response(409, {"message": f"no driver available in zone {zone}"})
    return _response(200, {"pickupId": pickup_id, "driverId": driver["driverId"]})


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
