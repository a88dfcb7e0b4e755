// Runs Choreo's own source-configuration validator (../shared/choreo-validator/dist/index.js, read in
// place, never copied) over many component directories in one node process.
//
//   node choreo_validator.js VALIDATOR_DIR validate < [[dir, fileType], ...]   -> [{valid, message, errors}]
//   node choreo_validator.js VALIDATOR_DIR samples                            -> {name: yaml text}
//
// The bundle's own main() is replaced by a function doing exactly what main() does for one
// directory (read .choreo/<fileType>, parse, validate), keeping yup's errors with their paths.
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const validatorDir = path.resolve(process.argv[2]);
const mode = process.argv[3];

if (mode === "samples") {
  const samples = {};
  for (const file of ["component-yaml-samples.js", "endpoints-yaml-samples.js"]) {
    const exported = require(path.join(validatorDir, "test", file));
    for (const [name, text] of Object.entries(exported)) samples[name] = text;
  }
  process.stdout.write(JSON.stringify(samples));
  process.exit(0);
}

const MARKER = "// Exec the main function\nmain();";
const HOOK = `
globalThis.__choreoValidate = async function (dir, fileType) {
  let captured = null;
  const original = constructValidationErrorMessage;
  constructValidationErrorMessage = function (err, type) { captured = err; return original(err, type); };
  try {
    const fileContent = readSrcConfigYaml(dir, fileType);
    srcConfigYamlFile = parseYaml(fileContent);
    await validateSourceConfigFile(dir, fileType);
    return { valid: true, message: "", errors: [] };
  } catch (error) {
    let inner = [];
    if (captured && Array.isArray(captured.inner) && captured.inner.length) inner = captured.inner;
    else if (captured && Array.isArray(captured.errors)) inner = [captured];
    return {
      valid: false,
      message: String(error && error.message),
      errors: inner.map((e) => ({ path: e.path === undefined ? null : e.path, message: String(e.message) })),
    };
  } finally {
    constructValidationErrorMessage = original;
  }
};`;

const bundlePath = path.join(validatorDir, "dist", "index.js");
const source = fs.readFileSync(bundlePath, "utf8");
if (!source.includes(MARKER)) {
  process.stderr.write(`choreo_validator.js: ${bundlePath} does not end with the expected main() call\n`);
  process.exit(3);
}
const bundle = new Module(bundlePath, module);
bundle.filename = bundlePath;
bundle.paths = Module._nodeModulePaths(path.dirname(bundlePath));
bundle._compile(source.replace(MARKER, HOOK), bundlePath);

async function run() {
  const requests = JSON.parse(fs.readFileSync(0, "utf8"));
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true; // core.warning() prints ::warning:: lines; not part of the verdict
  const results = [];
  for (const [dir, fileType] of requests) results.push(await globalThis.__choreoValidate(dir, fileType));
  process.stdout.write = write;
  write(JSON.stringify(results));
}
run().catch((error) => {
  process.stderr.write(String(error && error.stack) + "\n");
  process.exit(2);
});
