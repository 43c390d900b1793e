"""Deterministic Looker execute payloads (json_detail results as pushed attachments)."""

import json

FIELDS = {
    "dimensions": [
        {"name": "users.id", "label": "Users ID", "label_short": "ID", "tags": ["user_id"]},
        {"name": "users.email", "label": "Users Email", "label_short": "Email", "tags": ["email"]},
        {"name": "users.name", "label": "Users Name", "label_short": "Name", "tags": []},
        {"name": "users.plan", "label": "Users Plan", "label_short": "Plan", "tags": []},
    ],
    "measures": [
        {"name": "users.sessions_count", "label": "Users Sessions Count", "label_short": "Sessions Count",
         "tags": []},
    ],
    "table_calculations": [],
    "pivots": [],
}

PLANS = ["free", "team", "enterprise"]


def row(i):
    return {
        "users.id": {"value": "u%06d" % i},
        "users.email": {"value": "user%d@example.com" % i},
        "users.name": {"value": "User %d" % i},
        "users.plan": {"value": PLANS[i % 3]},
        "users.sessions_count": {"value": i % 50},
    }


def result(rows, ran_at="2026-12-01T06:00:00+00:00", fields=None):
    return {"ran_at": ran_at, "fields": fields or FIELDS, "data": list(rows)}


def execute(result_doc, write_key="wk_test", plan_id=1001, action_params=None, form_params=None):
    """An execute body with the result pushed as a JSON string, as Looker sends it."""
    data = {"segment_write_key": write_key}
    data.update(action_params or {})
    return {
        "type": "query",
        "scheduled_plan": {"scheduled_plan_id": plan_id, "title": "Cohort", "type": "Look",
                           "url": "https://looker.example.com/looks/1", "query_id": 7},
        "attachment": {"mimetype": "application/json", "extension": "json",
                       "data": json.dumps(result_doc)},
        "data": data,
        "form_params": form_params or {},
    }


def rows_execute(first, count, **kw):
    return execute(result(row(i) for i in range(first, first + count)), **kw)
