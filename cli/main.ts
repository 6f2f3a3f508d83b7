#!/usr/bin/env node
import { buildProgram } from "./program.js";

await buildProgram().parseAsync(process.argv);
// The command has finished and closed what it opened: a handle some client library still holds
// (a socket being torn down, a retry timer) must not keep the CLI running.
process.exit(process.exitCode ?? 0);
