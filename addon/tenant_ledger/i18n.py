"""Languages and local formats: gettext catalogs for words, Babel for numbers, money and dates.

The add-on's ``locale`` option (``en``, ``de``, ``de_AT``, …) picks both. Catalogs are the
``.po`` files under ``locales/``, read with Babel at start (no compile step in the image); a
language without a catalog falls back to English words with the locale's number formats.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
import io
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from tenant_ledger.billing.money import currency_exponent

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"


def parse_locale(name: str) -> Locale:
    """The Babel locale of the option (``de``, ``de-AT``, ``de_AT``); English if unknown."""
    try:
        return Locale.parse(name.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    """gettext translations for ``locale`` (its language's catalog, else none)."""
    language = parse_locale(locale).language
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@dataclass(frozen=True, slots=True)
class Formats:
    """Numbers, money and dates the way readers of ``locale`` write them."""

    locale: str
    currency: str

    @property
    def _babel(self) -> Locale:
        return parse_locale(self.locale)

    def gettext(self, message: str) -> str:
        return translations(self.locale).gettext(message)

    def money(self, minor: int) -> str:
        amount = Decimal(minor).scaleb(-currency_exponent(self.currency))
        return format_currency(amount, self.currency, locale=self._babel)

    def amount(self, minor: int) -> str:
        """Money without the currency sign (table columns headed with the currency)."""
        digits = currency_exponent(self.currency)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(Decimal(minor).scaleb(-digits), format=pattern, locale=self._babel)

    def unit_price(self, value: Decimal) -> str:
        """A price per kWh or day with every decimal it has (at least the currency's)."""
        exponent = value.normalize().as_tuple().exponent
        places = max(
            currency_exponent(self.currency), -exponent if isinstance(exponent, int) else 0
        )
        return self.number(value, places)

    def number(self, value: Decimal, decimals: int | None = None) -> str:
        if decimals is None:
            return format_decimal(value, locale=self._babel)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self._babel)

    def kwh(self, energy_wh: int) -> str:
        return self.number(Decimal(energy_wh) / 1000, 3)

    def percent(self, rate: Decimal) -> str:
        """``13 %`` for 0.13 (the number in the locale's format)."""
        return f"{format_decimal((rate * 100).normalize(), locale=self._babel)} %"

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self._babel)

    def moment(self, value: datetime) -> str:
        return format_datetime(value, format="short", tzinfo=value.tzinfo, locale=self._babel)
