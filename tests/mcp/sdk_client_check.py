"""Drives `leann mcp` with the official MCP Python SDK (PyPI `mcp`) as the client, over stdio.

Run by tests/unit/test_mcp_e2e.cpp, which builds an index with a tiny model in a temporary LEANN_HOME and passes:
  LEANN_CLI    the leann program
  LEANN_MODEL  the tiny model folder (leann mcp --model)
  LEANN_HOME   the home holding the index
  MCP_INDEX    the index name
  MCP_DOCS     the folder the index was built from (hit sources must lie under it)
Exits 0 when every check passes; otherwise prints what failed and exits non-zero.
"""

import os
import sys
import traceback

try:
    import anyio
    from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
except ImportError as e:  # the test must fail, not skip, when the SDK is missing
    print(f"the MCP Python SDK is not installed in {sys.executable}: {e} (run scripts/setup.sh)", file=sys.stderr)
    sys.exit(3)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def main() -> None:
    cli, model, index, docs = (os.environ[k] for k in ("LEANN_CLI", "LEANN_MODEL", "MCP_INDEX", "MCP_DOCS"))
    docs = os.path.realpath(docs)
    # The SDK passes only a few variables (HOME, PATH, ...) to the server: LEANN_HOME must be given explicitly.
    params = StdioServerParameters(
        command=cli, args=["mcp", "--model", model, "--threads", "1"], env={"LEANN_HOME": os.environ["LEANN_HOME"]}
    )
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "leann", f"serverInfo.name: {init.server_info}")
            check(init.protocol_version == "2025-11-25", f"negotiated {init.protocol_version}")
            check(init.capabilities.tools is not None, f"capabilities: {init.capabilities}")
            await session.send_ping()

            tools = {t.name: t for t in (await session.list_tools()).tools}
            check(set(tools) == {"leann_search", "leann_grep", "leann_list", "leann_stats"}, f"tools: {sorted(tools)}")
            search_schema = tools["leann_search"].input_schema
            check(set(search_schema["required"]) == {"index_name", "query"}, f"required: {search_schema}")
            check(tools["leann_search"].output_schema is not None, "leann_search has no outputSchema")

            listed = await session.call_tool("leann_list", {})
            check(not listed.is_error, f"leann_list failed: {listed.content}")
            rows = {row["name"]: row for row in listed.structured_content["indexes"]}
            check(index in rows and rows[index]["chunks"] > 0, f"leann_list: {rows}")
            check(f"- {index}: " in listed.content[0].text, f"leann_list text: {listed.content[0].text}")

            # call_tool validates structuredContent against the tool's outputSchema itself (the SDK raises when
            # it does not conform), so these hits have the declared shape.
            found = await session.call_tool("leann_search", {"index_name": index, "query": "quick brown fox", "top_k": 3})
            check(not found.is_error, f"leann_search failed: {found.content}")
            hits = found.structured_content["results"]
            check(len(hits) == 3, f"{len(hits)} hits")
            text = found.content[0].text
            for hit in hits:
                check(os.path.realpath(hit["source"]).startswith(docs + os.sep), f"source outside the docs: {hit}")
                check(isinstance(hit["line"], int) and hit["line"] >= 1, f"line: {hit}")
                check(f"{hit['source']}:{hit['line']} (" in text, f"{hit['source']}:{hit['line']} not in {text!r}")

            # A filter: only hits from the files the glob names (the docs folder holds *.txt/*.md; any glob works).
            filtered = await session.call_tool("leann_search", {"index_name": index, "query": "quick brown fox",
                                                                "top_k": 2, "path": [hits[0]["source"]]})
            check(not filtered.is_error and all(h["source"] == hits[0]["source"]
                                                for h in filtered.structured_content["results"]),
                  f"leann_search with path: {filtered.content}")
            bad_where = await session.call_tool("leann_search", {"index_name": index, "query": "fox",
                                                                 "where": {"no_such_field": 1}})
            check(bad_where.is_error and "no_such_field" in bad_where.content[0].text, f"bad where: {bad_where}")

            grepped = await session.call_tool("leann_grep", {"index_name": index, "pattern": "(?i)fox"})
            check(not grepped.is_error and grepped.structured_content["matches"] >= 1, f"leann_grep: {grepped.content}")
            for line in grepped.structured_content["lines"]:
                check(f"{line['path']}:{line['line']}:" in grepped.content[0].text, f"grep line {line} not in text")

            stats = await session.call_tool("leann_stats", {"index_name": index})
            check(not stats.is_error and stats.structured_content["chunks"] == rows[index]["chunks"],
                  f"leann_stats: {stats.structured_content}")

            missing = await session.call_tool("leann_search", {"index_name": "no-such-index", "query": "fox"})
            check(missing.is_error and "no index named" in missing.content[0].text, f"unknown index: {missing}")
            empty = await session.call_tool("leann_search", {"index_name": index, "query": ""})
            check(empty.is_error and "empty" in empty.content[0].text, f"empty query: {empty}")

            try:
                await session.call_tool("no_such_tool", {})
                check(False, "an unknown tool was accepted")
            except MCPError as e:
                check(e.code == -32602, f"unknown tool: {e.code} {e.message}")

            # The server is still serving after the errors.
            again = await session.call_tool("leann_search", {"index_name": index, "query": "lazy dog", "top_k": 1})
            check(not again.is_error and len(again.structured_content["results"]) == 1, f"after errors: {again}")
    print("sdk_client_check: all checks passed")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except BaseException:  # AssertionError, possibly inside an ExceptionGroup from the SDK's task groups
        traceback.print_exc()
        print("sdk_client_check FAILED", file=sys.stderr)
        sys.exit(1)
