"""The program's own start-up, as every real preview pays it: `__main__.py` for the dev stack under the
SDK's plain mock runtime (no plan, no diff), for `make bench` to time beside the bare SDK import."""

import asyncio
import runpy
import sys
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kapsule.stackfile.reading import read_stack_file, stack_file_path  # noqa: E402


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


stack_file = read_stack_file(stack_file_path("dev", ROOT))
asyncio.set_event_loop(asyncio.new_event_loop())
pulumi.runtime.set_mocks(Mocks(), project="kapsule", stack="dev", preview=True)
pulumi.runtime.set_all_config(stack_file.config, stack_file.secret_keys)
runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
