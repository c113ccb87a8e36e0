// Validates request bodies against the request schemas of an OpenAPI document.
//
// Prism cannot compile the request schemas of some Xero operations (Invoices, CreditNotes and
// Payments: its bundling leaves references it cannot resolve) and then lets every body through,
// so the contract tests check each body here as well, against the document itself.
//
// Usage: node body_check.js SPEC < requests.json
// stdin: [{"method": "POST", "path": "/Invoices", "body": {...}}, ...]
// stdout: one list of problems per request, in order: [{"path": "...", "message": "..."}]

"use strict";

const fs = require("fs");
const yaml = require("@stoplight/yaml");
const Ajv = require("ajv").default;
const addFormats = require("ajv-formats").default;

const SPEC_ID = "spec";

function escapePointer(text) {
  return text.replace(/~/g, "~0").replace(/\//g, "~1");
}

function main() {
  const document = yaml.parse(fs.readFileSync(process.argv[2], "utf8"));
  const requests = JSON.parse(fs.readFileSync(0, "utf8"));
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: SPEC_ID });
  const compiled = new Map();
  const results = requests.map(({ method, path, body }) => {
    const operation = (document.paths[path] || {})[method.toLowerCase()];
    const content = operation && operation.requestBody && operation.requestBody.content;
    if (!content || !content["application/json"]) {
      return [{ path: "", message: `the document has no JSON body for ${method} ${path}` }];
    }
    const pointer = `${SPEC_ID}#/paths/${escapePointer(path)}/${method.toLowerCase()}` +
      "/requestBody/content/application~1json/schema";
    if (!compiled.has(pointer)) {
      compiled.set(pointer, ajv.compile({ $ref: pointer }));
    }
    const validate = compiled.get(pointer);
    if (validate(body)) {
      return [];
    }
    return validate.errors.map((error) => ({
      path: error.instancePath,
      message: `${error.message}${error.params && error.params.allowedValues
        ? ": " + error.params.allowedValues.join(", ") : ""}`,
    }));
  });
  process.stdout.write(JSON.stringify(results));
}

main();
