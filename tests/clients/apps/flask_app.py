"""A small Flask app keeping its sessions in Redis through Flask-Session (SESSION_TYPE "redis")."""

from __future__ import annotations

from datetime import timedelta

import redis
from flask import Flask, session
from flask_session import Session


def create_app(url: str, lifetime: timedelta = timedelta(minutes=5)) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="ember-tests",
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(url),
        SESSION_KEY_PREFIX="session:",
        SESSION_PERMANENT=True,
        PERMANENT_SESSION_LIFETIME=lifetime,
    )
    Session(app)

    @app.post("/cart/<item>")
    def add_to_cart(item: str):
        session.setdefault("cart", []).append(item)
        session.modified = True  # an in-place change: tell Flask to save
        return {"cart": session["cart"]}

    @app.get("/cart")
    def show_cart():
        return {"cart": session.get("cart", [])}

    @app.post("/logout")
    def logout():
        session.clear()
        return {"cart": []}

    return app
