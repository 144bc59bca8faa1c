"""Which custom model versions may share a hosting cluster, per base-model family (issue 13).

OCI "Model Limitations" (https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm):
endpoints of one hosting cluster serve one base model or one custom model version, except
stack serving of T-Few ``cohere.command`` / ``cohere.command-light`` versions -- models retired
for dedicated mode on 2025-08-07, so no family of today stacks.
"""

from __future__ import annotations

import msgspec
import pytest

from shared import genai, tags
from shared.settings import Settings


@pytest.mark.parametrize(("base", "method", "shared"), [
    ("cohere.command-r-08-2024", "TFEW", False),  # one cluster per custom model version
    ("cohere.command-r-08-2024", "LORA", False),
    ("meta.llama-3.3-70b-instruct", "LORA", False),
])
def test_which_versions_share_a_hosting_cluster(base: str, method: str, shared: bool) -> None:
    assert genai.shares_hosting(genai.family_of(base), method) is shared


def test_versions_that_share_get_one_tagged_cluster_and_others_one_each() -> None:
    settings = Settings(compartment_id="ocid1.compartment.oc1..x")
    stackable = msgspec.structs.replace(genai.family_of("cohere.command-r"), stackable_tfew=True)
    assert genai.shares_hosting(stackable, "TFEW") and not genai.shares_hosting(stackable, "LORA")
    stacked = genai.cluster_tags(settings, genai.HOSTING, stackable)
    own = genai.cluster_tags(settings, genai.HOSTING, genai.family_of("cohere.command-r"),
                             model_id="ocid1.generativeaimodel.oc1..v1")
    assert tags.MODEL_ID not in stacked  # found again by every T-Few version of the family
    assert own[tags.MODEL_ID] == "ocid1.generativeaimodel.oc1..v1"
