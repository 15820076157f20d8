import { StandInHub } from "./hub-server.ts";
import { commit, listFiles, downloadFile, createRepo } from "@huggingface/hub";
const hub = new StandInHub();
const url = await hub.start();
hub.addRepo("org/src", { "config.json": '{"a":1}', "model.gguf": new Uint8Array(2_000_000).fill(7) });
const files = [];
for await (const f of listFiles({ repo: "org/src", hubUrl: url })) files.push(f.path);
console.log(files);
const b = await downloadFile({ repo: "org/src", path: "model.gguf", hubUrl: url, xet: false });
console.log(b?.size, (await b!.slice(0, 10).arrayBuffer()).byteLength);
await createRepo({ repo: "me/dst", hubUrl: url, accessToken: "hf_test_writer" });
const out = await commit({ repo: "me/dst", hubUrl: url, accessToken: "hf_test_writer", useXet: false, title: "t",
  operations: [{ operation: "edit", path: "model.gguf", originalContent: b!, edits: [{ start: 0, end: 4, content: new Blob(["GGUF!!"]) }] },
  { operation: "addOrUpdate", path: "config.json", content: new Blob(['{"b":2}']) }] });
console.log(out, hub.lfsUploads, hub.file("me/dst", "model.gguf")?.length, new TextDecoder().decode(hub.file("me/dst","model.gguf")!.subarray(0,8)));
await hub.close();
