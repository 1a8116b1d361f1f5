"""Per-repository secrets: where they are kept, how a step receives them, and masking in logs."""

from tingle.secrets.masking import MASK, MIN_LENGTH, Masker, MaskingWriter
from tingle.secrets.mounts import (
    SECRETS_PATH,
    StepSecrets,
    env_name,
    prepare_step_secrets,
    remove_build_secrets,
    remove_step_secrets,
)
from tingle.secrets.store import (
    DirectorySecretStore,
    SecretError,
    SecretNotFound,
    SecretStore,
    open_secret_store,
)

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "SECRETS_PATH",
    "DirectorySecretStore",
    "Masker",
    "MaskingWriter",
    "SecretError",
    "SecretNotFound",
    "SecretStore",
    "StepSecrets",
    "env_name",
    "open_secret_store",
    "prepare_step_secrets",
    "remove_build_secrets",
    "remove_step_secrets",
]
