/**
 * The OpenAI-compatible endpoint as a target: who may get an answer out of it
 * and how much it reads before saying no. These are transport tests, so the
 * endpoint runs over a fake session that answers a fixed "secret" and counts
 * calls: what is checked is whether a request reaches the session at all.
 * tests/server/lsp_http_test.ts covers the real engine behind it.
 */
import assert from "node:assert/strict";
import {
  type HttpSession,
  MAX_BODY_BYTES,
  MAX_IN_FLIGHT,
  startHttpServer,
} from "../../engine/http/mod.ts";
import type { CompleteRequest } from "../../engine/protocol/mod.ts";
import { rawRequest, type RawResponse } from "./raw_http.ts";

const TOKEN = "test-token-0123456789abcdefghijklmnop";
/** What retrieval would have pulled from another file of the project. */
const SECRET = "AWS_SECRET_ACCESS_KEY = 'from another file'";
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const BODY = JSON.stringify({ model: "ast-complete", prompt: "<|fim_prefix|>x = <|fim_suffix|>" });

const RESULT: CompleteRequest.Result = {
  id: "1",
  items: [{
    text: SECRET,
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
  }],
  timings: {
    astMs: 0,
    retrieveMs: 0,
    promptMs: 0,
    generateMs: 0,
    totalMs: 0,
    promptTokens: 1,
    reusedTokens: 0,
    generatedTokens: 1,
    cached: false,
  },
};

/** A session that answers SECRET, after `gate` when one is set, and counts completions. */
class FakeSession implements HttpSession {
  calls = 0;
  gate?: Promise<void>;
  locate(): undefined {
    return undefined;
  }
  async complete(): Promise<CompleteRequest.Result> {
    this.calls++;
    await this.gate;
    return RESULT;
  }
}

/** Starts the endpoint on a free port over a fake session; `run` gets both and the port. */
async function withEndpoint(
  run: (endpoint: { url: string; port: number; session: FakeSession }) => Promise<void>,
  options: { bodyTimeoutMs?: number } = {},
): Promise<void> {
  const session = new FakeSession();
  const http = await startHttpServer({
    session,
    log: silent,
    hostname: "127.0.0.1",
    port: 0,
    token: TOKEN,
    models: ["ast-complete"],
    ...options,
  });
  try {
    await run({ url: http.url, port: Number(new URL(http.url).port), session });
  } finally {
    await http.close();
  }
}

/** No response may ever open the endpoint to web pages. */
function assertNoCors(response: { headers: Headers }): void {
  const cors = [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
  assert.deepEqual(cors, [], "no CORS headers");
}

/** An OpenAI-style error with this status and code, without the secret. */
function assertRefused(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, response.body);
  assert.equal(JSON.parse(response.body).error.code, code);
  assert.ok(!response.body.includes(SECRET));
  assertNoCors(response);
}

Deno.test("every request needs the bearer token, compared whole", async () => {
  await withEndpoint(async ({ url, session }) => {
    const post = (headers: Record<string, string>) =>
      fetch(`${url}/completions`, { method: "POST", headers, body: BODY });
    const wrong: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${btoa(`user:${TOKEN}`)}` },
      { authorization: "Bearer " },
    ];
    for (const headers of wrong) {
      const response = await post(headers);
      const body = await response.json();
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(body.error.code, "invalid_api_key");
      assert.equal(body.error.type, "authentication_error");
      assert.equal(response.headers.get("www-authenticate"), "Bearer");
      assertNoCors(response);
    }
    const models = await fetch(`${url}/models`);
    assert.equal(models.status, 401, "GET /v1/models needs it too");
    await models.body?.cancel();
    assert.equal(session.calls, 0, "no refused request reached the engine");

    const right = await post({ authorization: `Bearer ${TOKEN}` });
    assert.equal(right.status, 200);
    assertNoCors(right);
    assert.equal((await right.json()).choices[0].text, SECRET);
    const listed = await fetch(`${url}/models`, { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(listed.status, 200, "the scheme is case-insensitive");
    await listed.body?.cancel();
  });
});

Deno.test("Host must name this endpoint: a loopback name and the bound port", async () => {
  await withEndpoint(async ({ port, session }) => {
    const post = (host: string | undefined) =>
      rawRequest(port, [
        "POST /v1/completions HTTP/1.1",
        ...host === undefined ? [] : [`Host: ${host}`],
        `Authorization: Bearer ${TOKEN}`,
        "Content-Type: application/json",
      ], BODY);
    // A DNS-rebinding page sends its own domain, which now resolves to 127.0.0.1.
    for (
      const host of [
        `evil.example:${port}`,
        "evil.example",
        `127.0.0.1:${port + 1}`,
        "127.0.0.1",
        `localhost.:${port}`,
        `127.0.0.1.evil.example:${port}`,
      ]
    ) {
      assertRefused(await post(host), 403, "forbidden_host");
    }
    assert.equal(session.calls, 0, "a foreign Host is refused even with the right token");
    for (
      const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]
    ) {
      const response = await post(host);
      assert.equal(response.status, 200, `${host}: ${response.body}`);
      assertNoCors(response);
    }
  });
});

Deno.test("requests from web pages (Origin, Sec-Fetch-Site) are refused, even with the token", async () => {
  await withEndpoint(async ({ port, session }) => {
    const head = (extra: string[]) => [
      "POST /v1/completions HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      ...extra,
    ];
    // The attacker's request as reported: a CORS-simple text/plain POST from a page, no token.
    assertRefused(
      await rawRequest(
        port,
        head(["Origin: http://evil.example", "Content-Type: text/plain"]),
        BODY,
      ),
      403,
      "forbidden_origin",
    );
    for (
      const browser of [
        "Origin: http://evil.example",
        "Origin: null",
        `Origin: http://127.0.0.1:${port}`,
        "Sec-Fetch-Site: cross-site",
      ]
    ) {
      assertRefused(
        await rawRequest(port, head([browser, `Authorization: Bearer ${TOKEN}`]), BODY),
        403,
        "forbidden_origin",
      );
    }
    // A CORS preflight gets no Access-Control-* answer, so a page never sends the real request.
    assertRefused(
      await rawRequest(port, [
        "OPTIONS /v1/completions HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        "Origin: http://evil.example",
        "Access-Control-Request-Method: POST",
        "Access-Control-Request-Headers: authorization",
      ]),
      403,
      "forbidden_origin",
    );
    assert.equal(session.calls, 0);
  });
});

Deno.test("a Content-Length over the cap is refused before any body arrives", async () => {
  await withEndpoint(async ({ port, session }) => {
    // No body follows: a server that waits to read it never answers (rawRequest times out).
    const response = await rawRequest(
      port,
      [
        "POST /v1/completions HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${TOKEN}`,
        `Content-Length: ${256 << 20}`,
      ],
      "",
      5_000,
    );
    assertRefused(response, 413, "body_too_large");
    assert.equal(session.calls, 0);
  });
});

Deno.test("a streamed body is cut off with 413 once it passes the cap, not read to its end", async () => {
  await withEndpoint(async ({ url, session }) => {
    const total = 64 << 20;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let pulled = 0;
    // Chunked, with no Content-Length: the size shows only while reading.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${url}/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body,
    });
    assert.equal(response.status, 413);
    assert.equal((await response.json()).error.code, "body_too_large");
    assertNoCors(response);
    // What was pulled beyond the cap sits in socket buffers (a few MB), not in the server.
    assert.ok(pulled < total / 2, `pulled ${pulled} of ${total} bytes, cap ${MAX_BODY_BYTES}`);
    assert.equal(session.calls, 0);
    await body.cancel().catch(() => {});
  });
});

Deno.test("a body that trickles in is cut off with 408 and frees its slot", async () => {
  await withEndpoint(async ({ port, session }) => {
    // Content-Length promises more than is ever sent: a server without a deadline never answers.
    const response = await rawRequest(
      port,
      [
        "POST /v1/completions HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${TOKEN}`,
        `Content-Length: ${BODY.length + 10}`,
      ],
      BODY,
      5_000,
    );
    assertRefused(response, 408, "body_timeout");
    assert.equal(session.calls, 0);
  }, { bodyTimeoutMs: 300 });
});

Deno.test(`over ${MAX_IN_FLIGHT} completions at once get 429`, async () => {
  await withEndpoint(async ({ url, session }) => {
    const gate = Promise.withResolvers<void>();
    session.gate = gate.promise;
    const post = () =>
      fetch(`${url}/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: BODY,
      });
    const held = Array.from({ length: MAX_IN_FLIGHT }, post);
    let statuses: number[] = [];
    try {
      while (session.calls < MAX_IN_FLIGHT) await new Promise((resolve) => setTimeout(resolve, 5));
      // Without a bound the request would wait for the gate: fail instead of hanging.
      const extra = await fetch(`${url}/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: BODY,
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(extra.status, 429);
      assert.equal(extra.headers.get("retry-after"), "1");
      assert.equal((await extra.json()).error.code, "too_many_requests");
    } finally {
      gate.resolve();
      statuses = await Promise.all(held.map(async (request) => {
        const response = await request;
        await response.body?.cancel();
        return response.status;
      }));
    }
    assert.deepEqual(statuses, Array(MAX_IN_FLIGHT).fill(200), "the held ones are answered");
    const after = await post();
    assert.equal(after.status, 200, "the slots are free again");
    await after.body?.cancel();
  });
});

Deno.test("an empty token is refused at start", async () => {
  await assert.rejects(
    startHttpServer({
      session: new FakeSession(),
      log: silent,
      hostname: "127.0.0.1",
      port: 0,
      token: "",
      models: ["ast-complete"],
    }),
    { name: "Error", message: "The completions endpoint needs a token" },
  );
});
