#!/usr/bin/env node
// The `sage` command. Resolves @sage/cli through the package's own exports: the built dist/ by
// default, or src/ when run with `node --conditions=@sage/source --import tsx` (development).
import { runCli } from "@sage/cli";

process.exitCode = await runCli(process.argv.slice(2));
