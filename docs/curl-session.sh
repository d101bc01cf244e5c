#!/usr/bin/env bash
# A dispute from opening to refund, over HTTP, against `make demo` (sandbox mode).
# Usage: PLATFORM=<platform token> MEDIATOR=<maya's token> PHOTO=<a .jpg/.png> docs/curl-session.sh
set -euo pipefail
B=${BASE:-http://127.0.0.1:8000}/api/v1
J=(-H "Content-Type: application/json")
say() { printf '\n$ %s\n' "$*" >&2; }

say "register a buyer and a seller (platform)"
BUYER=$(curl -sf -X POST $B/users -H "Authorization: Bearer $PLATFORM" "${J[@]}" \
  -d '{"role":"buyer","name":"Dana","email":"dana@example.com","country":"DE"}')
SELLER=$(curl -sf -X POST $B/users -H "Authorization: Bearer $PLATFORM" "${J[@]}" \
  -d '{"role":"seller","name":"Lamp Shop","email":"shop@example.com"}')
BT=$(jq -r .api_token <<<"$BUYER"); BID=$(jq -r .id <<<"$BUYER")
ST=$(jq -r .api_token <<<"$SELLER"); SID=$(jq -r .id <<<"$SELLER")

say "register a paid order: its money is held in escrow"
ORDER=$(curl -sf -X POST $B/orders -H "Authorization: Bearer $PLATFORM" "${J[@]}" -d "{
  \"buyer_id\":\"$BID\",\"seller_id\":\"$SID\",\"currency\":\"EUR\",
  \"items\":[{\"sku\":\"LAMP-1\",\"title\":\"Desk lamp\",\"quantity\":1,\"unit_price\":\"24.90\"}],
  \"shipping_cost\":\"3.00\",\"payment\":{\"method\":\"card\",\"reference\":\"pay_8812\",\"country\":\"DE\"}}")
OID=$(jq -r .id <<<"$ORDER"); jq -c '{status, total, escrow}' <<<"$ORDER"

say "the seller ships: 60 days of buyer protection start"
curl -sf -X POST $B/orders/$OID/ship -H "Authorization: Bearer $ST" "${J[@]}" \
  -d '{"carrier":"DHL","tracking_number":"JD0123456789","protection_days":60}' \
  | jq -c '{status, protection_ends_at}'

say "the buyer uploads a photo and opens a dispute"
FID=$(curl -sf -X POST $B/files -H "Authorization: Bearer $BT" -F "file=@$PHOTO" | jq -r .id)
DISPUTE=$(curl -sf -X POST $B/disputes -H "Authorization: Bearer $BT" "${J[@]}" \
  -H "Idempotency-Key: open-$OID" -d "{\"order_id\":\"$OID\",\"reason\":\"damaged\",
  \"desired_outcome\":\"refund_only\",\"amount\":\"24.90\",
  \"description\":\"The lamp arrived with a cracked shade.\",\"evidence_file_ids\":[\"$FID\"]}")
DID=$(jq -r .id <<<"$DISPUTE"); jq -c '{status, deadline, allowed_actions}' <<<"$DISPUTE"

say "the seller counter-offers 10 EUR; the buyer rejects it"
SOL=$(curl -sf -X POST $B/disputes/$DID/solutions -H "Authorization: Bearer $ST" "${J[@]}" \
  -d '{"kind":"refund_only","amount":"10.00","comment":"Only the shade is cracked."}' \
  | jq -r '.solutions[-1].id')
curl -sf -X POST $B/disputes/$DID/solutions/$SOL/reject -H "Authorization: Bearer $BT" \
  | jq -c '{status, deadline: .deadline | {kind, due_at, on_expiry}}'

say "8 days pass with no agreement: the dispute escalates to a mediator"
curl -sf -X POST $B/sandbox/clock/advance -H "Authorization: Bearer $PLATFORM" "${J[@]}" \
  -d '{"days":8}' | jq -c "[.fired[] | select(.dispute_id == \"$DID\")]"

say "the mediator proposes an interim decision"
curl -sf -X POST $B/disputes/$DID/decisions -H "Authorization: Bearer $MEDIATOR" "${J[@]}" \
  -d '{"solutions":[{"kind":"refund_only","amount":"18.00"}],"rationale":"The photo shows a cracked shade; the lamp works."}' \
  | jq -c '{status, deadline: .deadline | {kind, due_at, on_expiry}}'

say "3 days pass unchallenged: the decision is final, the refund is scheduled"
curl -sf -X POST $B/sandbox/clock/advance -H "Authorization: Bearer $PLATFORM" "${J[@]}" \
  -d '{"days":3,"minutes":1}' >/dev/null
curl -sf $B/disputes/$DID -H "Authorization: Bearer $BT" | jq -c '{status, outcome, refund}'
curl -sf $B/orders/$OID -H "Authorization: Bearer $BT" | jq -c '.escrow'

say "10 business days later the refund has completed"
curl -sf -X POST $B/sandbox/clock/advance -H "Authorization: Bearer $PLATFORM" "${J[@]}" \
  -d '{"days":15}' >/dev/null
curl -sf $B/disputes/$DID -H "Authorization: Bearer $BT" | jq -c '.refund'
