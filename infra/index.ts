/**
 * The Pulumi program of the Genie AI Server infrastructure (`main` in Pulumi.yaml).
 *
 * Config is read and validated first: bad config fails here, before any resource is declared.
 * The same function runs under the real engine (`pulumi up`) and under the offline mock runtime.
 */
import { loadStackConfig } from "./config";
import { defineStack } from "./stack";

export = async () => defineStack(loadStackConfig());
