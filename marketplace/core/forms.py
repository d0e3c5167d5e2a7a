from django import forms


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=80, required=False, help_text="Shown instead of your address on your work."
    )
    email = forms.EmailField(
        required=False, help_text="Optional: for notices about payouts and purchases."
    )
