/**
 * What the buttons of an unpriced-model notification do: Refresh Prices (the burnrate.refreshPrices
 * command, then the model's earlier calls repriced if the new data prices it), Set a Price (asks for the rates and writes them into the engine's price-overrides.json
 * through the management API, so the engine that prices the calls is the one that reads them, and
 * that engine reprices the model's earlier calls), and Ignore (the engine never announces the model again).
 */
import * as vscode from 'vscode';
import { AlertActions, historyNote, readPerMTok, type AlertAction } from './alerts';
import { Commands } from '../constants';
import { type DeliveredAlert, ignoreUnpricedModel, repriceModelHistory, setModelPrice } from '../link';

type UnpricedModelAlert = Extract<DeliveredAlert, { kind: 'unpricedModel' }>;

export async function actOnUnpricedModel(access: () => { port: number; secret: string }, alert: UnpricedModelAlert, pick: AlertAction): Promise<void> {
  switch (pick) {
    case AlertActions.refreshPrices:
      await refreshAndReprice(access, alert);
      break;
    case AlertActions.setPrice:
      await setPrice(access, alert);
      break;
    case AlertActions.ignore: {
      const { port, secret } = access();
      await ignoreUnpricedModel(port, secret, alert.provider, alert.model);
      break;
    }
  }
}

/** Refreshes the price data; if it now prices the model, its earlier calls are repriced, else Set a Price is offered. */
async function refreshAndReprice(access: () => { port: number; secret: string }, alert: UnpricedModelAlert): Promise<void> {
  // Undefined when the refresh failed (offline): the command has said so already.
  if (!(await vscode.commands.executeCommand(Commands.refreshPrices))) return;
  const { port, secret } = access();
  const result = await repriceModelHistory(port, secret, alert.provider, alert.model);
  if (!result.repriced) {
    void vscode.window.showWarningMessage(`Burn Rate: prices refreshed. ${historyNote(result)}`);
    return;
  }
  if (result.repriced.records) {
    void vscode.window.showInformationMessage(`Burn Rate: ${alert.provider} ${alert.model} has a price now. ${historyNote(result)}`);
    return;
  }
  const pick = await vscode.window.showWarningMessage(
    `Burn Rate: the latest price data has no price for ${alert.provider} model ${alert.model} either.`,
    AlertActions.setPrice,
  );
  if (pick) await setPrice(access, alert);
}

/** Asks for input, cached input and output rates (USD per 1M tokens), then saves them as the user's override. */
async function setPrice(access: () => { port: number; secret: string }, alert: UnpricedModelAlert): Promise<void> {
  const { provider, model } = alert;
  const ask = async (step: number, what: string, optional: boolean) => {
    const text = await vscode.window.showInputBox({
      title: `Burn Rate: Set a Price for ${provider} ${model} (${step}/3)`,
      prompt: `${what}, USD per 1M tokens${optional ? ' (leave blank: charged as input)' : ''}`,
      placeHolder: optional ? 'same as input' : 'e.g. 1.25',
      ignoreFocusOut: true,
      validateInput: (v) => readPerMTok(v, optional).problem,
    });
    return text === undefined ? undefined : readPerMTok(text, optional);
  };
  const input = await ask(1, 'Input price', false);
  if (!input) return;
  const cached = await ask(2, 'Cached input price', true);
  if (!cached) return;
  const output = await ask(3, 'Output price', false);
  if (!output) return;
  const { port, secret } = access();
  const saved = await setModelPrice(port, secret, { provider, model, inputPerMTok: input.usd!, cachedInputPerMTok: cached.usd, outputPerMTok: output.usd! });
  const rates = `$${input.usd} input${cached.usd === undefined ? '' : `, $${cached.usd} cached`}, $${output.usd} output per 1M tokens`;
  const pick = await vscode.window.showInformationMessage(
    `Burn Rate: ${provider} ${model} is priced from now on (${rates}). ${historyNote(saved)}`,
    'Open File',
  );
  if (pick) await vscode.window.showTextDocument(vscode.Uri.file(saved.file));
}
