/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_risk.c - the simulator's risk control and kicks
 * (shared/protocol-account.md §9, §10.5, §10.13; tests/sim/README.md):
 *
 *   risk       while on, mtop answers ret ["FAIL_SYS_USER_VALIDATE",
 *              "<CODE>::SM::哎哟喂,被挤爆啦,请稍后重试"] with data.url a punish URL
 *              (CODE RGV587_ERROR, or RRXVv_ERROR for the "rrxvv" variant);
 *              the "haslogin" variant leaves mtop alone (hasLogin.do answers
 *              RGV587: helper code checks a->risk). With until_x5sec it
 *              clears only when a call presents the x5sec cookie the fault
 *              answered and the User-Agent it was solved with.
 *   rate       more than risk_token_max login.token calls of one account
 *              within risk_token_window_ms turn its risk on (until_x5sec).
 *   kicks      a /reg of an account with another device id closes the
 *              account's other registered connections (kick_on_second_reg,
 *              default on); the "kick" fault closes them as a browser would.
 */
#include "sim.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RISK_TEXT "::SM::哎哟喂,被挤爆啦,请稍后重试"

/* The close frame of a kick: the real platform's is not known, so a code of
 * the private range and a reason that says what happened. */
#define SIM_KICK_CODE 4100
#define SIM_KICK_REASON "kicked: the account registered elsewhere"

/* The name of a variant ("" for an unknown one). */
static const char *variant_name(int v)
{
	return v == SIM_RISK_RGV587 ? "rgv587" : v == SIM_RISK_RRXVV ? "rrxvv" : v == SIM_RISK_HASLOGIN ? "haslogin" : "";
}

/* Turns seller a's risk on as variant v; with until_x5sec it waits for the
 * x5sec cookie it mints now and the User-Agent ua ("" = the UA of the next
 * risky call). */
static void risk_on(sim_account *a, int v, int until_x5sec, const char *ua)
{
	char hex[25];

	a->risk = 1;
	a->risk_variant = v;
	a->risk_until_x5sec = until_x5sec;
	snprintf(a->risk_ua, sizeof a->risk_ua, "%s", ua ? ua : "");
	sim_gen_hex(hex, 24);
	snprintf(a->risk_x5sec, sizeof a->risk_x5sec, "x5sec-%s", hex);
	a->risk_answers = 0;
}

/* POST /fault {"kind":"risk",...} for seller a (see the top of the file and
 * README.md). Returns the HTTP status; *out says the state and the x5sec
 * value that solves it. */
int sim_risk_fault(sim_account *a, const cJSON *b, cJSON **out)
{
	const char *vn = sim_jstr(b, "variant", "rgv587");
	int v = !strcmp(vn, "rgv587") ? SIM_RISK_RGV587 : !strcmp(vn, "rrxvv") ? SIM_RISK_RRXVV :
		!strcmp(vn, "haslogin") ? SIM_RISK_HASLOGIN : -1;

	*out = cJSON_CreateObject();
	if (v < 0) {
		cJSON_AddStringToObject(*out, "error", "unknown risk variant (rgv587, rrxvv, haslogin)");
		return 400;
	}
	if (sim_jbool(b, "on", 1))
		risk_on(a, v, sim_jbool(b, "until_x5sec", 0), sim_jstr(b, "ua", ""));
	else
		a->risk = a->risk_until_x5sec = 0;
	cJSON_AddNumberToObject(*out, "n", 1);
	cJSON_AddBoolToObject(*out, "on", a->risk);
	cJSON_AddStringToObject(*out, "variant", variant_name(a->risk_variant));
	cJSON_AddStringToObject(*out, "x5sec", a->risk ? a->risk_x5sec : "");
	return 200;
}

/* Counts a login.token call of seller a for the rate trigger: more than
 * S.risk_token_max within S.risk_token_window_ms turns risk on. */
static void rate_trigger(sim_account *a, const char *ua)
{
	int64_t now = util_now_ms();
	int i, n = 0;

	if (S.risk_token_max <= 0)
		return;
	a->token_calls_ms[a->token_calls_pos] = now;
	a->token_calls_pos = (a->token_calls_pos + 1) % SIM_RATE_RING;
	for (i = 0; i < SIM_RATE_RING; i++)
		if (a->token_calls_ms[i] && a->token_calls_ms[i] > now - S.risk_token_window_ms)
			n++;
	if (n > S.risk_token_max && !a->risk) {
		lwsl_user("sim: %s: %d token calls within %lld ms: risk control\n", a->unb, n,
			  (long long)S.risk_token_window_ms);
		risk_on(a, SIM_RISK_RGV587, 1, ua);
		S.st.risk_triggered++;
	}
}

/* Whether this mtop call of seller a (its cookie and User-Agent, "" when
 * none) answers risk control: it may solve the risk first (x5sec and the
 * same UA) or trigger it (the token rate). Returns 1 with *ret0, *ret1 and
 * *data (a new object with the punish URL) set, else 0. */
int sim_risk_mtop(sim_account *a, const char *api, const char *cookie, const char *ua, const char **ret0,
		  const char **ret1, cJSON **data)
{
	char url[160], *x5 = NULL;

	if (!strcmp(api, "mtop.taobao.idlemessage.pc.login.token"))
		rate_trigger(a, ua);
	if (!a->risk || a->risk_variant == SIM_RISK_HASLOGIN)
		return 0;
	if (!a->risk_ua[0] && a->risk_until_x5sec)
		snprintf(a->risk_ua, sizeof a->risk_ua, "%s", ua);   /* the UA it will be solved with */
	if (a->risk_until_x5sec && cookie && (x5 = cookie_get(cookie, "x5sec")) && !strcmp(x5, a->risk_x5sec) &&
	    !strcmp(ua, a->risk_ua)) {
		free(x5);
		a->risk = a->risk_until_x5sec = 0;
		S.st.risk_solved++;
		return 0;
	}
	free(x5);
	a->risk_answers++;
	S.st.risk_answers++;
	*ret0 = "FAIL_SYS_USER_VALIDATE";
	*ret1 = a->risk_variant == SIM_RISK_RRXVV ? "RRXVv_ERROR" RISK_TEXT : "RGV587_ERROR" RISK_TEXT;
	snprintf(url, sizeof url, "https://h5api.m.goofish.com/h5/%s/1.0/_____tmd_____/punish?x5secdata=sim%s&x5step=1",
		 api, a->risk_x5sec + 6);
	*data = cJSON_CreateObject();
	cJSON_AddStringToObject(*data, "url", url);
	return 1;
}

/* Kicks connection c as the platform does when the account registers
 * elsewhere: a close frame, counted. */
void sim_kick(sim_conn *c)
{
	lwsl_user("sim: conn %d: kicked\n", c->id);
	S.st.kicks++;
	sim_conn_act(c, SIM_DROP_CLOSE, SIM_KICK_CODE, SIM_KICK_REASON);
}

/* Connection c registered with device id did: when kick_on_second_reg is
 * on, the account's other registered connections with another device id
 * are kicked (the same device reconnecting replaces nothing). */
void sim_kick_on_reg(sim_conn *c, const char *did)
{
	sim_conn *o;

	snprintf(c->did, sizeof c->did, "%s", did ? did : "");
	if (!S.kick_on_second_reg)
		return;
	for (o = S.conns; o; o = o->next)
		if (o != c && o->acct == c->acct && o->registered && !o->closing && strcmp(o->did, c->did))
			sim_kick(o);
}

/* POST /config keys of this file: returns 1 when x was one (taken), 0 when
 * it is not ours, -1 when it is ours but mistyped. */
int sim_risk_config(const cJSON *x)
{
	if (!strcmp(x->string, "kick_on_second_reg"))
		return cJSON_IsBool(x) ? (S.kick_on_second_reg = cJSON_IsTrue(x), 1) : -1;
	if (!strcmp(x->string, "risk_token_max"))
		return cJSON_IsNumber(x) ? (S.risk_token_max = x->valueint, 1) : -1;
	if (!strcmp(x->string, "risk_token_window_ms"))
		return cJSON_IsNumber(x) && x->valuedouble >= 1 ? (S.risk_token_window_ms = (int64_t)x->valuedouble, 1) : -1;
	return 0;
}

/* Adds this file's settings to the answer of POST /config. */
void sim_risk_config_out(cJSON *o)
{
	cJSON_AddBoolToObject(o, "kick_on_second_reg", S.kick_on_second_reg);
	cJSON_AddNumberToObject(o, "risk_token_max", S.risk_token_max);
	cJSON_AddNumberToObject(o, "risk_token_window_ms", (double)S.risk_token_window_ms);
}
