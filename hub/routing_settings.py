"""hub.yaml's `routing:` section: where an order ships from.

    routing:
      split: when_needed          # or never: the default of every channel
      channels:
        shop: {split: never}      # per channel
      prefer:                     # by ship-to country, first rule that matches
        - region: EU              # a region named under `regions:` or built in (EU)
          locations: [eu, main]
        - countries: [US, CA]
          locations: [main]
      priority: [main, eu]        # the last tie-break (default: each channel's `locations:` order)

The rules themselves live in core/routing.py; each channel's row carries them as they
apply to it (`rules_for`), so a reload of hub.yaml changes routing at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from omnisync.core.routing import BUILT_IN_REGIONS, RoutingRules
from omnisync.core.types import SplitPolicy


def _norway(value: Any) -> Any:
    """YAML 1.1 reads a bare NO (Norway) as false: take it back as the country code."""
    return "NO" if value is False else value


Country = Annotated[str, BeforeValidator(_norway)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def country_codes(countries: list[str]) -> list[str]:
    bad = [code for code in countries if len(code) != 2 or not code.isalpha()]
    if bad:
        raise ValueError(f"not ISO 3166 two-letter country codes: {', '.join(bad)}")
    return [code.upper() for code in countries]


class PreferenceConfig(_Strict):
    countries: list[Country] = Field(default_factory=list)
    region: str | None = None
    locations: list[str] = Field(min_length=1)

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, countries: list[str]) -> list[str]:
        return country_codes(countries)

    @model_validator(mode="after")
    def _countries_or_region(self) -> PreferenceConfig:
        if not self.countries and self.region is None:
            raise ValueError("a preference needs `countries:` or `region:`")
        return self


class ChannelRoutingConfig(_Strict):
    split: SplitPolicy | None = None


class RoutingConfig(_Strict):
    split: SplitPolicy = SplitPolicy.WHEN_NEEDED
    channels: dict[str, ChannelRoutingConfig] = Field(default_factory=dict)
    prefer: list[PreferenceConfig] = Field(default_factory=list)
    priority: list[str] | None = None
    regions: dict[str, list[Country]] = Field(default_factory=dict)
    """Named sets of country codes for `prefer[].region`, beside the built-in ones."""

    @field_validator("regions")
    @classmethod
    def _region_countries(cls, regions: dict[str, list[str]]) -> dict[str, list[str]]:
        return {name: country_codes(codes) for name, codes in regions.items()}

    def problems(self, location_codes: list[str]) -> list[tuple[str, str]]:
        """(field path, message) for every location or region the section names that
        hub.yaml does not define."""
        found: list[tuple[str, str]] = []
        known = set(location_codes)
        regions = {name.upper() for name in (*self.regions, *BUILT_IN_REGIONS)}
        for index, rule in enumerate(self.prefer):
            for code in rule.locations:
                if code not in known:
                    found.append(
                        (f"routing.prefer[{index}].locations", f"unknown location {code!r}")
                    )
            if rule.region is not None and rule.region.upper() not in regions:
                found.append(
                    (
                        f"routing.prefer[{index}].region",
                        f"unknown region {rule.region!r} (define it under routing.regions)",
                    )
                )
        for code in self.priority or []:
            if code not in known:
                found.append(("routing.priority", f"unknown location {code!r}"))
        return found

    def rules_for(self, channel: str) -> dict[str, Any]:
        """The rules as they apply to `channel`, as its row stores them."""
        override = self.channels.get(channel)
        regions = {name.upper(): codes for name, codes in BUILT_IN_REGIONS.items()}
        regions.update(
            {name.upper(): [c.upper() for c in codes] for name, codes in self.regions.items()}
        )
        return RoutingRules(
            split=override.split if override and override.split else self.split,
            prefer=tuple(
                (
                    frozenset(rule.countries)
                    | frozenset(regions.get((rule.region or "").upper(), ())),
                    tuple(rule.locations),
                )
                for rule in self.prefer
            ),
            priority=tuple(self.priority or ()),
        ).as_mapping()
