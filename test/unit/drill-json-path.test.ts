/**
 * The JSON-path subset and the expectation language of drill checks
 * (src/checks/json-path.ts, src/checks/compare.ts): parsing, evaluation,
 * comparison semantics, and precise errors for malformed input.
 */
import { describe, expect, it } from "vitest";
import { compareValues, formatValue, parseExpectation, satisfies } from "../../src/checks/compare.js";
import { JsonPathSyntaxError, evaluateJsonPath, parseJsonPath, parseJsonPathExpectation } from "../../src/checks/json-path.js";

const doc = {
  handle: "alice.test",
  did: "did:plc:abc",
  count: 3,
  ok: true,
  none: null,
  items: [{ id: 1, tags: ["a", "b"] }, { id: 2, tags: [] }, { id: 3 }],
  "content-type": "application/json",
  "a b": { c: "spaced" },
};

describe("JSON path subset", () => {
  it.each([
    ["$", doc],
    ["$.handle", "alice.test"],
    ["$.items[0].id", 1],
    ["$.items[-1].id", 3],
    ["$.items[0].tags[1]", "b"],
    ["$.items.length", 3],
    ["$.items[0].tags.length", 2],
    ["$.handle.length", 10],
    ["$['content-type']", "application/json"],
    ['$["a b"].c', "spaced"],
    ["$.content-type", "application/json"],
    ["$.none", null],
  ])("%s selects the value", (path, value) => {
    expect(evaluateJsonPath(doc, parseJsonPath(path))).toEqual(value);
  });

  it.each(["$.missing", "$.items[7].id", "$.handle[0]", "$.count.x", "$.none.x", "$.items[1].tags[0]"])("%s selects nothing", (path) => {
    expect(evaluateJsonPath(doc, parseJsonPath(path))).toBeUndefined();
  });

  it.each([
    ["handle", "a path starts with $", 1],
    ["$.", "expected a member name", 3],
    ["$..handle", "recursive descent", 2],
    ["$.items[*]", "wildcards", 9],
    ["$.items[?(@.id)]", "filter expressions", 9],
    ["$.items[0:2]", "slices", 10],
    ["$.items[0", "expected ]", 10],
    ["$['x", "unterminated string", 3],
    ["$.a b", "unexpected", 4],
  ])("rejects %j with a message and a position", (text, message, position) => {
    let err: unknown;
    try {
      parseJsonPath(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonPathSyntaxError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toContain(`character ${position}`);
  });
});

describe("JSON path expectations", () => {
  const holds = (text: string): boolean => {
    const e = parseJsonPathExpectation(text);
    return satisfies(evaluateJsonPath(doc, e.path), e.expectation);
  };

  it.each([
    ['$.handle == "alice.test"', true],
    ["$.handle == 'alice.test'", true],
    ['$.handle != "bob.test"', true],
    ['$.handle == "bob.test"', false],
    ["$.count == 3", true],
    ["$.count >= 3", true],
    ["$.count > 3", false],
    ["$.count < 4", true],
    ["$.count <= 2", false],
    ["$.count==3", true],
    ['$.count == "3"', false],
    ["$.ok == true", true],
    ["$.none == null", true],
    ["$.none exists", true],
    ["$.missing exists", false],
    ["$.missing !exists", true],
    ["$.items.length >= 3", true],
    ['$.items[0].tags == ["a","b"]', true],
    ['$.items[0] == {"tags":["a","b"],"id":1}', true],
    ['$.did >= "did:plc:"', true],
    ['$.count > "2"', false],
  ])("%s -> %s", (text, expected) => {
    expect(holds(text)).toBe(expected);
  });

  it.each([
    ["$.handle", "expected an operator"],
    ["$.handle = 'x'", "expected an operator"],
    ["$.handle ==", "expected a value"],
    ["$.handle == alice", "expected a JSON value"],
    ["$.handle exist", "expected an operator"],
    ["handle == 1", "a path starts with $"],
  ])("rejects %j", (text, message) => {
    expect(() => parseJsonPathExpectation(text)).toThrow(message);
  });
});

describe("comparisons", () => {
  it("compares numbers numerically across number and bigint", () => {
    expect(compareValues(5n, "==", 5)).toBe(true);
    expect(compareValues(5n, ">", 4.5)).toBe(true);
    expect(compareValues(2, "<=", 2n)).toBe(true);
  });

  it("orders ISO times as strings and refuses mixed types", () => {
    expect(compareValues("2026-01-02T00:00:00Z", ">", "2026-01-01T23:59:59Z")).toBe(true);
    expect(compareValues("10", ">", 9)).toBe(false);
    expect(compareValues(null, "<", 1)).toBe(false);
  });

  it("parses standalone expectations", () => {
    expect(parseExpectation(">= 1")).toEqual({ kind: "compare", op: ">=", value: 1 });
    expect(parseExpectation(" exists ")).toEqual({ kind: "exists", negated: false });
    expect(() => parseExpectation("~ 3")).toThrow(/expected an operator/);
  });

  it("formats observed values for reports", () => {
    expect(formatValue(undefined)).toBe("(missing)");
    expect(formatValue(12n)).toBe("12");
    expect(formatValue(new Uint8Array(3))).toBe("<blob 3 bytes>");
    expect(formatValue("x".repeat(300))).toHaveLength(201);
  });
});
