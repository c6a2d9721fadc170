"""Each error class carries the HTTP status and OCI code the gateway answers with, in one place."""

from hubpush.errors import ExecutorNotFoundError, HubpushError, ProtectedTagError, SecretRequiredError, all_error_classes
from hubpush.gateway.refusal import Refusal


def test_the_gateway_answers_every_error_with_the_status_and_code_its_class_names():
    for cls in all_error_classes():
        refusal = Refusal.from_error(cls("a sentence"))
        assert (refusal.status, refusal.code) == (cls.http_status, cls.oci_code), cls.__name__
        assert refusal.detail == {"kind": cls.kind, "exit_code": cls.exit_code}


def test_the_statuses_the_clients_rely_on():
    assert (ProtectedTagError.http_status, ProtectedTagError.oci_code) == (412, "DENIED")
    assert (SecretRequiredError.http_status, SecretRequiredError.oci_code) == (401, "UNAUTHORIZED")
    assert (ExecutorNotFoundError.http_status, ExecutorNotFoundError.oci_code) == (404, "NAME_UNKNOWN")


def test_the_base_class_defaults_to_a_plain_refusal():
    assert (HubpushError.http_status, HubpushError.oci_code) == (400, "DENIED")
