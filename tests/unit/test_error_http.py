"""Each error class carries the HTTP status and OCI code the gateway answers with."""

from hubpush.errors import HubpushError, MalformedMessageError, all_error_classes
from hubpush.gateway.app import _HTTP_FOR_ERROR

#: raised by hubpush.hubapi's readers, which the gateway does not use yet; it answers a
#: malformed push request with this status and code itself
NOT_YET_IN_THE_GATEWAY = {MalformedMessageError: (400, "UNSUPPORTED")}


def test_every_error_class_names_the_status_and_code_the_gateway_maps_it_to_today():
    for cls in all_error_classes():
        mapped = next((found for kind, found in _HTTP_FOR_ERROR.items() if issubclass(cls, kind)), (400, "DENIED"))
        assert (cls.http_status, cls.oci_code) == NOT_YET_IN_THE_GATEWAY.get(cls, mapped), cls.__name__


def test_the_base_class_defaults_to_a_plain_refusal():
    assert (HubpushError.http_status, HubpushError.oci_code) == (400, "DENIED")
