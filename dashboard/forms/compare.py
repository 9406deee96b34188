"""The compare form: two refs (branch or tag names, or commit hashes) to compare."""

from django import forms

from dashboard.forms.pickers import PickerInput
from dashboard.selectors.compare import MAX_REF_LENGTH, ref_problem


class CompareForm(forms.Form):
    source = forms.CharField(
        label="Source (the changes)",
        max_length=MAX_REF_LENGTH,
        widget=PickerInput(),
    )
    destination = forms.CharField(
        label="Destination (where they would go)",
        max_length=MAX_REF_LENGTH,
        widget=PickerInput(),
    )

    def _ref(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if problem := ref_problem(value):
            raise forms.ValidationError(f"Not a branch, tag or commit hash: {problem}")
        return value

    def clean_source(self) -> str:
        return self._ref("source")

    def clean_destination(self) -> str:
        return self._ref("destination")
