"""POST /quotes: price a pickup from its items and the distance to the depot."""
import json

BASE_FEE_CENTS = 1500
PER_ITEM_CENTS = {"sofa": 4000, "mattress": 3000, "fridge": 5000, "box": 500}
PER_KM_CENTS = 120


def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    items = body.get("items") or []
    distance_km = float(body.get("distanceKm", 0))
    unknown = [i for i in items if i not in PER_ITEM_CENTS]
    if unknown:
        return _response(422, {"message": "cannot price items", "items": unknown})
    total = BASE_FEE_CENTS + sum(PER_ITEM_CENTS[i] for i in items)
    total += round(distance_km * PER_KM_CENTS)
    return _response(200, {"currency": "EUR", "amountCents": total})


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
