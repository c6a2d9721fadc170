from hubpush.errors import HubpushError, all_error_classes


def test_every_error_has_a_distinct_nonzero_exit_code_and_kind():
    classes = all_error_classes()
    assert len(classes) >= 20
    codes = [cls.exit_code for cls in classes]
    assert len(set(codes)) == len(codes), codes
    assert all(code not in (0, 1) for code in codes)
    assert len({cls.kind for cls in classes}) == len(classes)
    assert all(issubclass(cls, HubpushError) for cls in classes)
