"""File trees for the `demo` seed: small but real-looking Python, JavaScript, Markdown and infrastructure projects.

Kept as Python text rather than in demo.json, where each file would be one long escaped string.
"""

from __future__ import annotations

API_SERVER = {
    "README.md": """# API Server

The HTTP API behind Acme's order pipeline.

## Running locally

```bash
python -m venv .venv && . .venv/bin/activate
pip install -e '.[dev]'
python -m api_server
```

## Layout

- `src/api_server/app.py`: the WSGI app and its routes
- `src/api_server/models.py`: orders and customers
- `tests/`: pytest suite
""",
    "pyproject.toml": """[project]
name = "api-server"
version = "1.4.0"
requires-python = ">=3.12"
dependencies = ["flask>=3.0", "sqlalchemy>=2.0"]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff>=0.6"]
""",
    ".gitignore": "__pycache__/\n*.pyc\n.venv/\n.env\n",
    "src/api_server/__init__.py": '"""Acme order API."""\n\n__version__ = "1.4.0"\n',
    "src/api_server/__main__.py": "from .app import create_app\n\ncreate_app().run(port=8000)\n",
    "src/api_server/app.py": """from flask import Flask, jsonify, request

from .models import Order, OrderStore


def create_app(store: OrderStore | None = None) -> Flask:
    app = Flask(__name__)
    orders = store or OrderStore()

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/orders")
    def list_orders():
        limit = int(request.args.get("limit", 50))
        return jsonify([o.as_dict() for o in orders.recent(limit)])

    @app.post("/orders")
    def create_order():
        payload = request.get_json(force=True)
        order = orders.add(Order.from_payload(payload))
        return order.as_dict(), 201

    return app
""",
    "src/api_server/models.py": """from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal


@dataclass
class Order:
    customer: str
    total: Decimal
    currency: str = "EUR"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None

    @classmethod
    def from_payload(cls, payload: dict) -> "Order":
        return cls(customer=payload["customer"], total=Decimal(str(payload["total"])))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["total"] = str(self.total)
        data["created_at"] = self.created_at.isoformat()
        return data


class OrderStore:
    def __init__(self) -> None:
        self._orders: list[Order] = []

    def add(self, order: Order) -> Order:
        order.id = len(self._orders) + 1
        self._orders.append(order)
        return order

    def recent(self, limit: int) -> list[Order]:
        return list(reversed(self._orders))[:limit]
""",
    "src/api_server/settings.py": """import os

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///orders.db")
PAGE_SIZE = 50
REQUEST_TIMEOUT = 10
""",
    "tests/test_app.py": """from api_server.app import create_app


def test_health():
    client = create_app().test_client()
    assert client.get("/health").json == {"status": "ok"}


def test_create_order():
    client = create_app().test_client()
    response = client.post("/orders", json={"customer": "c-1", "total": 12.5})
    assert response.status_code == 201
""",
}

WEB_FRONTEND = {
    "README.md": "# Web Frontend\n\nThe customer-facing storefront, built with Vite and React.\n\n"
    "```bash\nnpm install\nnpm run dev\n```\n",
    "package.json": """{
  "name": "web-frontend",
  "version": "2.3.1",
  "private": true,
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "vite build",
    "test": "vitest run"
  },
  "dependencies": {
    "react": "^18.3.1",
    "react-dom": "^18.3.1"
  },
  "devDependencies": {
    "vite": "^5.4.0",
    "vitest": "^2.0.5"
  }
}
""",
    "index.html": '<!doctype html>\n<html lang="en">\n'
    '  <head><meta charset="UTF-8" /><title>Acme Store</title></head>\n'
    '  <body><div id="root"></div><script type="module" src="/src/main.jsx"></script></body>\n</html>\n',
    "src/main.jsx": """import React from "react";
import { createRoot } from "react-dom/client";
import App from "./App.jsx";

createRoot(document.getElementById("root")).render(<App />);
""",
    "src/App.jsx": """import { useEffect, useState } from "react";
import { fetchProducts } from "./api.js";
import ProductCard from "./components/ProductCard.jsx";

export default function App() {
  const [products, setProducts] = useState([]);
  useEffect(() => {
    fetchProducts().then(setProducts);
  }, []);
  return (
    <main>
      <h1>Acme Store</h1>
      {products.map((p) => (
        <ProductCard key={p.id} product={p} />
      ))}
    </main>
  );
}
""",
    "src/api.js": """const BASE_URL = import.meta.env.VITE_API_URL ?? "/api";

export async function fetchProducts() {
  const response = await fetch(`${BASE_URL}/products`);
  if (!response.ok) {
    throw new Error(`Failed to load products: ${response.status}`);
  }
  return response.json();
}
""",
    "src/components/ProductCard.jsx": """export default function ProductCard({ product }) {
  return (
    <article className="product-card">
      <h2>{product.name}</h2>
      <p>{product.price} EUR</p>
    </article>
  );
}
""",
    "src/styles.css": ".product-card {\n  border: 1px solid #ddd;\n  border-radius: 8px;\n  padding: 1rem;\n}\n",
}

DOCS = {
    "README.md": "# Acme Engineering Handbook\n\nHow we build, review and ship software at Acme.\n",
    "onboarding.md": """# Onboarding

1. Get access to the `acme` workspace on Bitbucket.
2. Create an API token with the repository and pull request scopes.
3. Clone `api-server` and run its tests.
""",
    "code-review.md": """# Code review

- Every change goes through a pull request with at least one approval.
- Reviewers answer within one working day.
- Prefer small pull requests; split refactors from behaviour changes.
""",
    "release-process.md": """# Release process

Releases are cut from `main` every Tuesday. Hotfixes branch from the last release tag.
""",
    "architecture/overview.md": "# Architecture overview\n\nThe storefront talks to the API server over HTTPS.\n",
}

INFRA = {
    "README.md": "# Infrastructure\n\nTerraform and deployment configuration for Acme's environments.\n",
    "terraform/main.tf": """terraform {
  required_version = ">= 1.6"
}

provider "aws" {
  region = var.region
}

module "api" {
  source        = "./modules/service"
  name          = "api-server"
  instance_type = "t3.small"
  replicas      = 2
}
""",
    "terraform/variables.tf": 'variable "region" {\n  type    = string\n  default = "eu-west-1"\n}\n',
    "deploy/production.yaml": "service: api-server\nreplicas: 3\nimage: acme/api-server:1.4.0\n",
    "deploy/staging.yaml": "service: api-server\nreplicas: 1\nimage: acme/api-server:latest\n",
}

MOBILE_APP = {
    "README.md": "# Mobile App\n\nReact Native app for iOS and Android.\n",
    "package.json": '{\n  "name": "acme-mobile",\n  "version": "0.9.0",\n  "private": true,\n'
    '  "dependencies": {\n    "react-native": "0.75.2"\n  }\n}\n',
    "src/App.tsx": """import React from "react";
import { SafeAreaView, Text } from "react-native";

export default function App(): JSX.Element {
  return (
    <SafeAreaView>
      <Text>Acme</Text>
    </SafeAreaView>
  );
}
""",
    "src/api/client.ts": """export const API_URL = "https://api.acme.test";

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${API_URL}${path}`);
  return (await response.json()) as T;
}
""",
    "tsconfig.json": '{\n  "compilerOptions": {\n    "strict": true,\n    "jsx": "react-native"\n  }\n}\n',
}

EXPERIMENTS = {
    "README.md": "# Experiments\n\nAlice's scratch space for prototypes.\n",
    "notebooks/latency.py": "import statistics\n\nsamples = [12, 15, 11, 30, 14]\nprint(statistics.median(samples))\n",
}

# The first commit of each demo repository, by `workspace/slug` as demo.json names them.
TREES = {
    "acme/api-server": API_SERVER,
    "acme/web-frontend": WEB_FRONTEND,
    "acme/docs": DOCS,
    "acme/infra": INFRA,
    "acme/mobile-app": MOBILE_APP,
    "alice-labs/experiments": EXPERIMENTS,
}
