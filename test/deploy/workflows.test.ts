// The GitHub Actions workflows, validated against the published workflow JSON schema by
// @action-validator/core (SchemaStore's github-workflow schema, compiled in), plus what this
// project needs of them: CI runs .ci/run on push and pull request with a PostgreSQL 15 service,
// and the release builds and pushes the image with docker/build-push-action on a tag.
import * as fs from "node:fs";
import * as path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";
import { REPO_ROOT } from "./support/production-app";

const read = (name: string) => fs.readFileSync(path.join(REPO_ROOT, ".github/workflows", name), "utf8");

test("the validator rejects a broken workflow (the checks below are not vacuous)", () => {
  expect(validateWorkflow("on: push\njobs:\n  a:\n    runs-onx: ubuntu-24.04\n    steps: []\n").errors.length).toBeGreaterThan(0);
});

test.each(["ci.yml", "release.yml"])("%s is a valid workflow", (name) => {
  expect(validateWorkflow(read(name)).errors).toEqual([]);
});

test("CI runs .ci/run on push and pull request, with a PostgreSQL 15 service it points .ci/run at", () => {
  const ci = parse(read("ci.yml")) as { on: Record<string, unknown>; jobs: Record<string, { services?: Record<string, { image: string }>; env?: Record<string, string>; steps: { run?: string }[] }> };
  expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
  const job = Object.values(ci.jobs)[0]!;
  expect(job.services?.postgres?.image).toBe("postgres:15");
  expect(job.env?.BANK_CI_PG_HOST).toBe("postgres");
  expect(fs.readFileSync(path.join(REPO_ROOT, ".ci/run"), "utf8")).toContain("BANK_CI_PG_HOST");
  expect(job.steps.map((s) => s.run)).toContain(".ci/run");
});

test("the release builds and pushes the image on a version tag", () => {
  const release = parse(read("release.yml")) as { on: { push: { tags: string[]; branches?: unknown } }; jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
  expect(release.on.push.tags.length).toBeGreaterThan(0);
  expect(release.on.push.branches).toBeUndefined();
  const build = Object.values(release.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("docker/build-push-action@"));
  expect(build?.with?.push).toBe(true);
  expect(build?.with?.context).toBe(".");
});
