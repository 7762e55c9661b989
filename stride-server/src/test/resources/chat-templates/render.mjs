// Renders every (template, conversation) pair of cases.json with @huggingface/jinja, the renderer of the
// Hugging Face JS tooling; prints {"template/conversation": text} as JSON (an error object where it fails).
// usage: node render.mjs CASES_DIR TEMPLATES_DIR
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import path from "node:path";
const dir = process.argv[2];
const templates = process.argv[3];
const cases = JSON.parse(fs.readFileSync(path.join(dir, "cases.json"), "utf8"));
const out = {};
for (const [tname, t] of Object.entries(cases.templates)) {
  const tpl = new Template(fs.readFileSync(path.join(templates, t.file), "utf8"));
  for (const [cname, c] of Object.entries(cases.conversations)) {
    const ctx = { messages: c.messages, add_generation_prompt: true, bos_token: t.bos_token, eos_token: t.eos_token,
                  date_string: cases.date };
    if (c.tools) ctx.tools = cases.toolsets[c.tools];
    try { out[tname + "/" + cname] = tpl.render(ctx); }
    catch (e) { out[tname + "/" + cname] = { error: String(e.message) }; }
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
