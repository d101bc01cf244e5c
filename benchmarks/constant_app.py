"""A FastAPI application with one constant route: what uvicorn and FastAPI cost on their own
(``uvicorn benchmarks.constant_app:app``)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
