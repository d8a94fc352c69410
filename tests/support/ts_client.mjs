#!/usr/bin/env node
// The real TypeScript MCP SDK client (`@modelcontextprotocol/sdk`, pinned in
// tests/peers/package-lock.json) runs one scenario against a server and prints what it saw.
//
// Usage:
//   ts_client.mjs -- CMD [ARGS...]                  the server over stdio
//   ts_client.mjs --url URL [--header 'N: v'] --    Streamable HTTP (e.g. MCP Firewall's proxy)
//
// Prints one JSON line: {"ok": true, ...what the client observed...}, or {"ok": false,
// "error": "..."} and exit code 1. The scenario is the everything server's: its tools, two
// calls, an image, its resources and a prompt.

import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "peers", "package.json"));
const load = (specifier) => import(pathToFileURL(require.resolve(specifier)).href);

const { Client } = await load("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await load("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = await load(
  "@modelcontextprotocol/sdk/client/streamableHttp.js",
);

function parse(argv) {
  const at = argv.indexOf("--");
  if (at < 0) throw new Error("missing '--' before the server command");
  const own = argv.slice(0, at);
  const command = argv.slice(at + 1);
  const options = { url: null, headers: {}, command };
  for (let i = 0; i < own.length; i += 2) {
    const [flag, value] = [own[i], own[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--url") options.url = value;
    else if (flag === "--header") {
      const sep = value.indexOf(": ");
      if (sep < 0) throw new Error(`a header is 'Name: value', not ${value}`);
      options.headers[value.slice(0, sep)] = value.slice(sep + 2);
    } else throw new Error(`unknown option ${flag}`);
  }
  if (!options.url && command.length === 0) throw new Error("no server command after '--'");
  return options;
}

const firstText = (result) => result.content.find((b) => b.type === "text")?.text ?? null;

async function scenario(client) {
  const out = {};
  out.server = client.getServerVersion()?.name ?? null;
  out.capabilities = Object.keys(client.getServerCapabilities() ?? {}).sort();
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name).sort();

  let r = await client.callTool({ name: "echo", arguments: { message: "hello firewall" } });
  out.echo = { isError: Boolean(r.isError), text: firstText(r) };
  r = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
  out.sum = { isError: Boolean(r.isError), text: firstText(r), structured: r.structuredContent ?? null };
  r = await client.callTool({ name: "get-tiny-image", arguments: {} });
  const image = r.content.find((b) => b.type === "image");
  if (!image) throw new Error(`no image block in ${JSON.stringify(r.content)}`);
  out.image = { types: r.content.map((b) => b.type), mimeType: image.mimeType, length: image.data.length };

  const resources = await client.listResources();
  out.resources = resources.resources.map((x) => x.uri).sort();
  if (resources.resources.length > 0) {
    const first = resources.resources[0];
    const read = await client.readResource({ uri: first.uri });
    out.read = { uri: first.uri, contents: read.contents.length };
  }
  const prompts = await client.listPrompts();
  out.prompts = prompts.prompts.map((p) => p.name).sort();
  const simple = prompts.prompts.find((p) => !(p.arguments ?? []).some((a) => a.required));
  if (simple) {
    const got = await client.getPrompt({ name: simple.name, arguments: {} });
    out.prompt = { name: simple.name, messages: got.messages.length };
  }
  return out;
}

async function main() {
  const options = parse(process.argv.slice(2));
  const transport = options.url
    ? new StreamableHTTPClientTransport(new URL(options.url), {
        requestInit: { headers: options.headers },
      })
    : new StdioClientTransport({
        command: options.command[0],
        args: options.command.slice(1),
        env: { ...process.env },
        stderr: "inherit",
      });
  const client = new Client({ name: "mcpfw-ts-test-client", version: "1.0.0" });
  await client.connect(transport);
  try {
    const out = await scenario(client);
    process.stdout.write(JSON.stringify({ ok: true, ...out }) + "\n");
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(error?.stack ?? error) }) + "\n");
  process.exit(1);
});
