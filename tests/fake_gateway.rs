//! A payment provider in the test process, behind the same trait as Stripe's
//! client: for the providers that cannot run here and for faults no fake
//! server gives on demand (a provider that is down, an answer lost after the
//! provider acted). It keeps idempotency keys as Stripe does: a key used
//! again answers the first call's object and acts no more.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_billing::PaymentProvider;
use tessera_billing::gateway::{
    Account, CardSummary, ChargeSpec, CustomerSpec, GatewayError, GatewayResult, PaymentGateway, PaymentSpec,
    PaymentStatus, ProviderEvent, ProviderPayment, ProviderRefund, RefundStatus, SetupIntent, SetupStatus,
};
use tessera_kernel::SharedClock;

/// What the next call does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails before acting, as a provider that is down.
    Unavailable,
    /// Acts, then loses the answer.
    LoseAnswer,
    /// A charge the bank is still processing; asked again with its key, it
    /// has succeeded.
    Processing,
}

#[derive(Default)]
struct State {
    next: u64,
    customers: HashMap<String, String>,
    setups: HashMap<String, SetupIntent>,
    cards: HashMap<String, (CardSummary, bool)>,
    payments: HashMap<String, ProviderPayment>,
    refunds: HashMap<String, ProviderRefund>,
    events: Vec<ProviderEvent>,
    /// Idempotency key → the id of what it made.
    keys: HashMap<String, String>,
    faults: VecDeque<Fault>,
    processing_next: bool,
    refund_fails_next: bool,
    calls: Vec<(&'static str, Option<String>, Option<String>)>,
}

/// An in-process provider.
pub struct FakeGateway {
    provider: PaymentProvider,
    clock: SharedClock,
    state: Mutex<State>,
}

impl FakeGateway {
    /// A fake of `provider` whose events are dated by `clock`.
    pub fn new(provider: PaymentProvider, clock: SharedClock) -> Self {
        Self { provider, clock, state: Mutex::new(State::default()) }
    }

    /// Makes the next calls fail as `faults` say, one each.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Every call so far: (operation, idempotency key, account).
    pub fn calls(&self) -> Vec<(&'static str, Option<String>, Option<String>)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// What a browser does with the setup's client secret: gives a card
    /// (`declines`: one the bank refuses to charge).
    pub fn confirm_setup(&self, setup_id: &str, brand: &str, last4: &str, declines: bool) {
        let mut state = self.state.lock().unwrap();
        let method = format!("pm_fake_{}", state.next);
        state.next += 1;
        state.cards.insert(method.clone(), (CardSummary { brand: brand.into(), last4: last4.into() }, declines));
        let setup = state.setups.get_mut(setup_id).expect("a setup of this fake");
        setup.status = SetupStatus::Succeeded;
        setup.payment_method = Some(method);
    }

    /// Makes the next refund fail at the bank (the provider answers it
    /// failed).
    pub fn fail_next_refund(&self) {
        self.state.lock().unwrap().refund_fails_next = true;
    }

    /// Every refund made so far: (payment, amount).
    pub fn refunds(&self) -> Vec<(String, i64)> {
        let state = self.state.lock().unwrap();
        let mut made: Vec<_> = state.refunds.values().map(|r| (r.payment_id.clone(), r.amount_minor)).collect();
        made.sort();
        made
    }

    /// What a browser does with a payment's client secret: pays it with a
    /// card, which the bank accepts or (`declines`) refuses.
    pub fn pay(&self, payment_id: &str, declines: bool) {
        let mut state = self.state.lock().unwrap();
        let payment = state.payments.get_mut(payment_id).expect("a payment of this fake");
        assert_eq!(payment.status, PaymentStatus::Pending, "only a payment waiting for its card is paid");
        payment.status = if declines { PaymentStatus::Failed } else { PaymentStatus::Succeeded };
        payment.failure_code = declines.then(|| "card_declined".to_owned());
        let kind = if declines { "payment_intent.payment_failed" } else { "payment_intent.succeeded" };
        let object = json!({"id": payment_id, "amount": payment.amount_minor});
        self.event(&mut state, kind, object);
    }

    fn id(state: &mut State, prefix: &str) -> String {
        state.next += 1;
        format!("{prefix}_fake_{}", state.next)
    }

    /// Records the call and applies the next fault, if any: `Err` before
    /// acting, or `Ok(true)` to act and then lose the answer.
    fn enter(&self, op: &'static str, key: Option<&str>, account: Account<'_>) -> GatewayResult<bool> {
        let mut state = self.state.lock().unwrap();
        state.calls.push((op, key.map(str::to_owned), account.map(str::to_owned)));
        match state.faults.pop_front() {
            Some(Fault::Unavailable) => Err(GatewayError::Transient("the fake provider is down".into())),
            Some(Fault::LoseAnswer) => Ok(true),
            Some(Fault::Processing) => {
                state.processing_next = true;
                Ok(false)
            }
            None => Ok(false),
        }
    }

    fn answer<T>(lose: bool, value: T) -> GatewayResult<T> {
        if lose { Err(GatewayError::Unknown("the fake lost the answer".into())) } else { Ok(value) }
    }

    fn event(&self, state: &mut State, kind: &str, object: serde_json::Value) {
        let id = Self::id(state, "evt");
        state.events.push(ProviderEvent { id, kind: kind.into(), created: self.clock.now(), object });
    }
}

#[async_trait]
impl PaymentGateway for FakeGateway {
    fn provider(&self) -> PaymentProvider {
        self.provider
    }

    async fn create_customer(&self, account: Account<'_>, spec: &CustomerSpec, key: &str) -> GatewayResult<String> {
        let lose = self.enter("create_customer", Some(key), account)?;
        let mut state = self.state.lock().unwrap();
        let id = match state.keys.get(key) {
            Some(id) => id.clone(),
            None => {
                let id = Self::id(&mut state, "cus");
                state.customers.insert(id.clone(), spec.name.clone());
                state.keys.insert(key.into(), id.clone());
                id
            }
        };
        Self::answer(lose, id)
    }

    async fn create_setup(&self, account: Account<'_>, customer: &str, key: &str) -> GatewayResult<SetupIntent> {
        let lose = self.enter("create_setup", Some(key), account)?;
        let mut state = self.state.lock().unwrap();
        if !state.customers.contains_key(customer) {
            return Err(GatewayError::NotFound);
        }
        let setup = match state.keys.get(key).and_then(|id| state.setups.get(id)) {
            Some(setup) => setup.clone(),
            None => {
                let id = Self::id(&mut state, "seti");
                let setup = SetupIntent {
                    id: id.clone(),
                    client_secret: Some(format!("{id}_secret")),
                    status: SetupStatus::RequiresPaymentMethod,
                    customer: Some(customer.into()),
                    payment_method: None,
                };
                state.setups.insert(id.clone(), setup.clone());
                state.keys.insert(key.into(), id);
                setup
            }
        };
        Self::answer(lose, setup)
    }

    async fn complete_setup(
        &self,
        account: Account<'_>,
        _customer: &str,
        id: &str,
        _card_token: Option<&str>,
    ) -> GatewayResult<SetupIntent> {
        self.enter("complete_setup", None, account)?;
        self.state.lock().unwrap().setups.get(id).cloned().ok_or(GatewayError::NotFound)
    }

    async fn card(&self, account: Account<'_>, _customer: &str, payment_method: &str) -> GatewayResult<CardSummary> {
        self.enter("card", None, account)?;
        self.state.lock().unwrap().cards.get(payment_method).map(|(c, _)| c.clone()).ok_or(GatewayError::NotFound)
    }

    async fn charge(&self, account: Account<'_>, spec: &ChargeSpec, key: &str) -> GatewayResult<ProviderPayment> {
        let lose = self.enter("charge", Some(key), account)?;
        let mut state = self.state.lock().unwrap();
        if let Some(id) = state.keys.get(key).cloned()
            && let Some(done) = state.payments.get_mut(&id)
        {
            let settled = done.status == PaymentStatus::Processing;
            if settled {
                done.status = PaymentStatus::Succeeded;
            }
            let done = done.clone();
            if settled {
                self.event(&mut state, "payment_intent.succeeded", json!({"id": done.id, "amount": done.amount_minor}));
            }
            return match done.status {
                PaymentStatus::Failed => Err(GatewayError::Declined { code: "card_declined".into() }),
                _ => Self::answer(lose, done),
            };
        }
        let declines = match state.cards.get(&spec.payment_method) {
            Some((_, declines)) => *declines,
            None => return Err(GatewayError::Invalid("no such payment method".into())),
        };
        let id = Self::id(&mut state, "pi");
        let processing = std::mem::take(&mut state.processing_next);
        let payment = ProviderPayment {
            id: id.clone(),
            status: match (declines, processing) {
                (true, _) => PaymentStatus::Failed,
                (false, true) => PaymentStatus::Processing,
                (false, false) => PaymentStatus::Succeeded,
            },
            amount_minor: spec.amount_minor,
            currency: spec.currency.clone(),
            failure_code: declines.then(|| "card_declined".to_owned()),
            client_secret: None,
        };
        state.payments.insert(id.clone(), payment.clone());
        state.keys.insert(key.into(), id.clone());
        let kind = match (declines, processing) {
            (true, _) => "payment_intent.payment_failed",
            (false, true) => "payment_intent.processing",
            (false, false) => "payment_intent.succeeded",
        };
        let metadata: serde_json::Map<String, serde_json::Value> =
            spec.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        self.event(&mut state, kind, json!({"id": id, "amount": spec.amount_minor, "metadata": metadata}));
        if declines {
            return Err(GatewayError::Declined { code: "card_declined".into() });
        }
        Self::answer(lose, payment)
    }

    async fn create_payment(
        &self,
        account: Account<'_>,
        spec: &PaymentSpec,
        key: &str,
    ) -> GatewayResult<ProviderPayment> {
        let lose = self.enter("create_payment", Some(key), account)?;
        let mut state = self.state.lock().unwrap();
        if let Some(id) = state.keys.get(key).cloned() {
            let made = state.payments.get(&id).cloned().ok_or(GatewayError::NotFound)?;
            return Self::answer(lose, made);
        }
        let id = Self::id(&mut state, "pi");
        let payment = ProviderPayment {
            id: id.clone(),
            status: PaymentStatus::Pending,
            amount_minor: spec.amount_minor,
            currency: spec.currency.clone(),
            failure_code: None,
            client_secret: Some(format!("{id}_secret_fake")),
        };
        state.payments.insert(id.clone(), payment.clone());
        state.keys.insert(key.into(), id);
        Self::answer(lose, payment)
    }

    async fn cancel_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        let lose = self.enter("cancel_payment", None, account)?;
        let mut state = self.state.lock().unwrap();
        let payment = state.payments.get_mut(id).ok_or(GatewayError::NotFound)?;
        if matches!(payment.status, PaymentStatus::Succeeded | PaymentStatus::Failed | PaymentStatus::Canceled) {
            return Err(GatewayError::Invalid(format!("a {:?} payment cannot be cancelled", payment.status)));
        }
        payment.status = PaymentStatus::Canceled;
        let payment = payment.clone();
        Self::answer(lose, payment)
    }

    async fn retrieve_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        self.enter("retrieve_payment", None, account)?;
        self.state.lock().unwrap().payments.get(id).cloned().ok_or(GatewayError::NotFound)
    }

    async fn refund(
        &self,
        account: Account<'_>,
        payment_id: &str,
        amount_minor: i64,
        key: &str,
    ) -> GatewayResult<ProviderRefund> {
        let lose = self.enter("refund", Some(key), account)?;
        let mut state = self.state.lock().unwrap();
        if let Some(done) = state.keys.get(key).and_then(|id| state.refunds.get(id)) {
            let done = done.clone();
            return Self::answer(lose, done);
        }
        match state.payments.get(payment_id) {
            Some(p) if p.status == PaymentStatus::Succeeded => {}
            Some(_) => return Err(GatewayError::Invalid("cannot refund a payment that did not succeed".into())),
            None => return Err(GatewayError::NotFound),
        }
        let id = Self::id(&mut state, "re");
        let fails = std::mem::take(&mut state.refund_fails_next);
        let refund = ProviderRefund {
            id: id.clone(),
            payment_id: payment_id.into(),
            amount_minor,
            status: if fails { RefundStatus::Failed } else { RefundStatus::Succeeded },
        };
        state.refunds.insert(id.clone(), refund.clone());
        state.keys.insert(key.into(), id);
        Self::answer(lose, refund)
    }

    async fn retrieve_refund(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderRefund> {
        self.enter("retrieve_refund", None, account)?;
        self.state.lock().unwrap().refunds.get(id).cloned().ok_or(GatewayError::NotFound)
    }

    async fn events_since(
        &self,
        account: Account<'_>,
        after: Option<DateTime<Utc>>,
        limit: u32,
    ) -> GatewayResult<Vec<ProviderEvent>> {
        self.enter("events_since", None, account)?;
        let state = self.state.lock().unwrap();
        Ok(state.events.iter().filter(|e| after.is_none_or(|a| e.created > a)).take(limit as usize).cloned().collect())
    }
}

impl FakeGateway {
    /// How many events of `kind` the fake recorded (one per payment made).
    pub fn events_of(&self, kind: &str) -> usize {
        self.state.lock().unwrap().events.iter().filter(|e| e.kind == kind).count()
    }

    /// The object of the last event of `kind` (`{id, amount, metadata}`).
    pub fn last_event(&self, kind: &str) -> Option<serde_json::Value> {
        self.state.lock().unwrap().events.iter().rev().find(|e| e.kind == kind).map(|e| e.object.clone())
    }

    /// The bank settles every charge it was processing: they succeed.
    pub fn settle_processing(&self) {
        let mut state = self.state.lock().unwrap();
        for payment in state.payments.values_mut() {
            if payment.status == PaymentStatus::Processing {
                payment.status = PaymentStatus::Succeeded;
            }
        }
    }
}
