// config.json fixtures written in a test from published values, read as yarnify reads a file.
import { interpretHfConfig } from "../../converters/hf/index.ts";
import { parseJsonText } from "../../src/core/hf-config/json-text.ts";

export const fromObject = (obj: unknown) => interpretHfConfig("config.json", parseJsonText(JSON.stringify(obj, null, 2)));
